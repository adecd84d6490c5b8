//! Which IP addresses a plugin's request may never reach.
//!
//! Only globally routable unicast addresses are allowed. Loopback,
//! private, shared (carrier-grade NAT), link-local, unique-local,
//! multicast, broadcast, documentation, benchmarking and reserved ranges
//! are refused, and so are the cloud metadata endpoints. IPv6 forms that
//! embed an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64) are
//! judged by the IPv4 address they carry.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of address a request was refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// A cloud instance metadata endpoint (169.254.169.254, fd00:ec2::254,
    /// 100.100.100.200).
    CloudMetadata,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 0.0.0.0/8 ("this network"), ::.
    Unspecified,
    /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    SharedAddressSpace,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// Anything else that is not global unicast: 192.0.0.0/24,
    /// 192.88.99.0/24, 240.0.0.0/4, IPv6 outside 2000::/3, the IETF
    /// protocol assignments 2001::/23 (Teredo included), local-use NAT64,
    /// deprecated site-local and IPv4-compatible forms.
    Reserved,
}

impl AddressClass {
    /// A phrase for messages: "a private address".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::CloudMetadata => "a cloud metadata address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Private => "a private address",
            AddressClass::SharedAddressSpace => "a carrier-grade NAT (shared) address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a unique-local address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// How an IPv6 address carries the IPv4 address it was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Ipv4Mapped,
    /// `::a.b.c.d` (deprecated).
    Ipv4Compatible,
    /// `2002:aabb:ccdd::/48`.
    SixToFour,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
}

impl Embedding {
    fn describe(self) -> &'static str {
        match self {
            Embedding::Ipv4Mapped => "IPv4-mapped",
            Embedding::Ipv4Compatible => "IPv4-compatible",
            Embedding::SixToFour => "6to4",
            Embedding::Nat64 => "NAT64",
        }
    }
}

/// Why an address is refused: its class and, for IPv6 forms of an IPv4
/// address, the embedded address that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Refusal {
    /// What kind of address it is (or embeds).
    pub class: AddressClass,
    /// The IPv4 address an IPv6 address embeds, when that decided.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class.describe())?;
        if let Some((embedding, v4)) = self.embedded {
            write!(f, " ({} form of {v4})", embedding.describe())?;
        }
        Ok(())
    }
}

/// Why `ip` may not be reached, or `None` for a globally routable address.
pub fn refusal(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4).map(|class| Refusal {
            class,
            embedded: None,
        }),
        IpAddr::V6(v6) => v6_refusal(v6),
    }
}

/// The address to put on the wire: IPv4-mapped IPv6 addresses become the
/// IPv4 address they stand for.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn v4_class(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    // Most specific first: the metadata addresses sit inside link-local
    // and shared ranges.
    const TABLE: &[([u8; 4], u32, AddressClass)] = &[
        ([169, 254, 169, 254], 32, CloudMetadata),
        ([100, 100, 100, 200], 32, CloudMetadata),
        ([255, 255, 255, 255], 32, Broadcast),
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedAddressSpace),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
}

fn v6(segments: [u16; 8]) -> Ipv6Addr {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h)
}

fn v6_refusal(ip: Ipv6Addr) -> Option<Refusal> {
    use AddressClass::*;
    let plain = |class| {
        Some(Refusal {
            class,
            embedded: None,
        })
    };
    if ip.is_unspecified() {
        return plain(Unspecified);
    }
    if ip.is_loopback() {
        return plain(Loopback);
    }
    let bits = u128::from(ip);
    // Forms that carry an IPv4 address are judged by that address.
    let embedded = if let Some(v4) = ip.to_ipv4_mapped() {
        Some((Embedding::Ipv4Mapped, v4))
    } else if in_v6(ip, Ipv6Addr::UNSPECIFIED, 96) {
        Some((Embedding::Ipv4Compatible, Ipv4Addr::from(bits as u32)))
    } else if in_v6(ip, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        Some((Embedding::Nat64, Ipv4Addr::from(bits as u32)))
    } else if in_v6(ip, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        Some((Embedding::SixToFour, Ipv4Addr::from((bits >> 80) as u32)))
    } else {
        None
    };
    if let Some((embedding, v4)) = embedded {
        if let Some(class) = v4_class(v4) {
            return Some(Refusal {
                class,
                embedded: Some((embedding, v4)),
            });
        }
        // IPv4-compatible addresses are deprecated (RFC 4291) and never
        // legitimately returned for a public service.
        return match embedding {
            Embedding::Ipv4Compatible => Some(Refusal {
                class: Reserved,
                embedded: Some((embedding, v4)),
            }),
            _ => None,
        };
    }
    const TABLE: &[([u16; 8], u32, AddressClass)] = &[
        ([0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254], 128, CloudMetadata),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Reserved),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0x2001, 0x0002, 0, 0, 0, 0, 0, 0], 48, Benchmarking),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        ([0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0], 48, Reserved),
        ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, Reserved),
    ];
    if let Some((_, _, class)) = TABLE
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, v6(*net), *prefix))
    {
        return plain(*class);
    }
    // Only 2000::/3 is allocated for global unicast.
    if !in_v6(ip, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return plain(Reserved);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(text: &str) -> Option<AddressClass> {
        let ip: IpAddr = text.parse().expect("an address");
        refusal(ip).map(|r| r.class)
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(class_of(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv4_ranges_are_classified() {
        use AddressClass::*;
        for (ip, class) in [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.0.0.5", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.8", Reserved),
            ("192.88.99.1", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
        ] {
            assert_eq!(class_of(ip), Some(class), "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_are_classified() {
        use AddressClass::*;
        for (ip, class) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001::1", Reserved),
            ("fec0::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::a00:5", Reserved),
            ("4000::1", Reserved),
        ] {
            assert_eq!(class_of(ip), Some(class), "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_by_the_ipv4_address() {
        use AddressClass::*;
        for (ip, class, embedding, v4) in [
            (
                "::ffff:127.0.0.1",
                Loopback,
                Embedding::Ipv4Mapped,
                "127.0.0.1",
            ),
            (
                "::ffff:192.168.1.1",
                Private,
                Embedding::Ipv4Mapped,
                "192.168.1.1",
            ),
            (
                "::ffff:169.254.169.254",
                CloudMetadata,
                Embedding::Ipv4Mapped,
                "169.254.169.254",
            ),
            ("::10.0.0.5", Private, Embedding::Ipv4Compatible, "10.0.0.5"),
            ("::8.8.8.8", Reserved, Embedding::Ipv4Compatible, "8.8.8.8"),
            ("64:ff9b::a00:5", Private, Embedding::Nat64, "10.0.0.5"),
            ("64:ff9b::7f00:1", Loopback, Embedding::Nat64, "127.0.0.1"),
            ("2002:a00:5::1", Private, Embedding::SixToFour, "10.0.0.5"),
            (
                "2002:a9fe:a9fe::",
                CloudMetadata,
                Embedding::SixToFour,
                "169.254.169.254",
            ),
        ] {
            let refusal = refusal(ip.parse().expect("an address")).expect(ip);
            assert_eq!(refusal.class, class, "{ip}");
            assert_eq!(
                refusal.embedded,
                Some((embedding, v4.parse().expect("v4"))),
                "{ip}"
            );
        }
        let text = refusal("::ffff:192.168.1.1".parse().expect("address"))
            .expect("refused")
            .to_string();
        assert_eq!(text, "a private address (IPv4-mapped form of 192.168.1.1)");
    }

    #[test]
    fn mapped_addresses_are_connected_as_ipv4() {
        let ip: IpAddr = "::ffff:8.8.8.8".parse().expect("address");
        assert_eq!(canonical(ip), IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)));
        let ip: IpAddr = "2606:4700::1".parse().expect("address");
        assert_eq!(canonical(ip), ip);
    }
}
