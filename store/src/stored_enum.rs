//! `stored_enum!`: an enum stored as a text column, with its names written
//! once, so the Rust value, the stored text and the parser cannot drift.

/// Define a `Copy` enum whose variants are stored as fixed names: it gets
/// `as_str`, `parse`, `Display` (which honours width and alignment, so
/// the names line up in tables) and a crate-private `decode` that reports
/// an unknown stored name as [`StoreError::Damaged`](crate::StoreError)
/// naming `$what`, never as some default variant.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// The name as stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parse a stored or typed name.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Decode a stored name; an unknown one means the row is damaged.
            pub(crate) fn decode(text: &str) -> Result<Self, $crate::StoreError> {
                Self::parse(text).ok_or_else(|| $crate::StoreError::Damaged {
                    what: $what,
                    value: text.to_string(),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}
