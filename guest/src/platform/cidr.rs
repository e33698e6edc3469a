//! IPv4 CIDR parsing and carving: every network range comes from the
//! environment or the claim, so each is checked before it reaches a cloud.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: u32,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` strictly: four octets, a prefix of 0..=32 and no
    /// host bits set (a cloud would reject `10.0.0.1/16` anyway, later).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ip, prefix) = text
            .split_once('/')
            .ok_or_else(|| "has no /prefix".to_string())?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("has prefix {prefix:?}, expected 0 to 32"))?;
        let octets: Vec<&str> = ip.split('.').collect();
        if octets.len() != 4 {
            return Err(format!("has address {ip:?}, expected four dotted octets"));
        }
        let mut addr = 0u32;
        for octet in octets {
            let value: u8 = octet
                .parse()
                .ok()
                .filter(|_| !octet.is_empty() && octet.len() <= 3)
                .ok_or_else(|| format!("has octet {octet:?}, expected 0 to 255"))?;
            addr = (addr << 8) | u32::from(value);
        }
        let cidr = Self { addr, prefix };
        if addr & !cidr.mask() != 0 {
            return Err(format!(
                "has host bits set, expected the network address {}",
                Self {
                    addr: addr & cidr.mask(),
                    prefix
                }
            ));
        }
        Ok(cidr)
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The `index`-th subnet `newbits` longer than this one.
    pub fn subnet(&self, newbits: u8, index: u32) -> Result<Self, String> {
        let prefix = self.prefix.saturating_add(newbits);
        if prefix > 32 {
            return Err(format!("{self} cannot be split into /{prefix} subnets"));
        }
        let count = 1u64 << newbits;
        if u64::from(index) >= count {
            return Err(format!(
                "{self} holds only {count} /{prefix} subnets, subnet {index} is out of range"
            ));
        }
        let size = 1u64 << (32 - u32::from(prefix));
        let addr = u64::from(self.addr) + u64::from(index) * size;
        Ok(Self {
            addr: addr as u32,
            prefix,
        })
    }

    /// The `n`-th address of the range, as text (e.g. a DNS service IP).
    pub fn host(&self, n: u32) -> String {
        ip_text(self.addr.wrapping_add(n))
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && other.addr & self.mask() == self.addr
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

fn ip_text(addr: u32) -> String {
    let [a, b, c, d] = addr.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", ip_text(self.addr), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(
            Cidr::parse("10.0.0.0/16").unwrap().to_string(),
            "10.0.0.0/16"
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/16",
            "10.0.0.256/24",
            "10.0.0.1/16",
            "a.b.c.d/8",
            "",
            "10.0.0.0/-1",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn carves_subnets() {
        let vpc = Cidr::parse("10.0.0.0/16").unwrap();
        assert_eq!(vpc.subnet(4, 0).unwrap().to_string(), "10.0.0.0/20");
        assert_eq!(vpc.subnet(4, 9).unwrap().to_string(), "10.0.144.0/20");
        assert!(vpc.subnet(4, 16).is_err());
        assert!(vpc.subnet(20, 0).is_err());
    }

    #[test]
    fn overlap_and_hosts() {
        let a = Cidr::parse("10.0.0.0/16").unwrap();
        let b = Cidr::parse("10.0.4.0/24").unwrap();
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert_eq!(Cidr::parse("10.8.0.0/20").unwrap().host(10), "10.8.0.10");
    }
}
