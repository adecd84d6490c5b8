//! A serde helper shared by the definition's types: read a map in a raw
//! form, then check and convert it, keeping the error at the map's path.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Read a map as `Raw`, then convert it to `T`, both within the map's own
/// visit: a conversion error then carries the map's position and path
/// (`trigger`, `steps[1].when`) rather than its parent's, as serde's
/// `try_from` attribute would give. The conversion's error is shown as
/// the message.
pub(crate) fn deserialize_checked<'de, D, Raw, T>(
    deserializer: D,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    Raw: Deserialize<'de>,
    T: TryFrom<Raw>,
    T::Error: fmt::Display,
{
    struct Checked<Raw, T> {
        expecting: &'static str,
        types: PhantomData<(Raw, T)>,
    }

    impl<'de, Raw, T> Visitor<'de> for Checked<Raw, T>
    where
        Raw: Deserialize<'de>,
        T: TryFrom<Raw>,
        T::Error: fmt::Display,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let raw = Raw::deserialize(MapAccessDeserializer::new(map))?;
            T::try_from(raw).map_err(de::Error::custom)
        }
    }

    deserializer.deserialize_map(Checked {
        expecting,
        types: PhantomData,
    })
}
