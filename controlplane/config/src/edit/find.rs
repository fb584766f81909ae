//! Naming what an edit changes: an identifier (`id`) resolved to its index in the
//! configuration, a real or virtual by its name or by an address exactly one has, a
//! URL by its name, a DIP by its IP address or socket, a rule by its virtual and name.
//! Apart from `edit.rs` (applying the edits) because it is a job of its own: every
//! edit starts here, and `farm.rs` pairs a DIP with its real through it too.

use crate::validate::{self, and_list};
use crate::Config;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The reals or virtuals an address id matches: `Ok(None)` when `id` is not an address
/// or nothing has it, an error naming them when several have it.
pub(super) fn by_address<'a>(
    id: &str,
    plural: &str,
    items: impl Iterator<Item = (&'a str, SocketAddrV4)>,
) -> Result<Option<usize>, String> {
    let wanted: Box<dyn Fn(SocketAddrV4) -> bool> = if let Ok(s) = id.parse::<SocketAddrV4>() {
        Box::new(move |a| a == s)
    } else if let Ok(ip) = id.parse::<Ipv4Addr>() {
        Box::new(move |a| *a.ip() == ip)
    } else {
        return Ok(None);
    };
    let matching: Vec<(usize, &str)> = items
        .enumerate()
        .filter(|(_, (_, a))| wanted(*a))
        .map(|(i, (name, _))| (i, name))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [(i, _)] => Ok(Some(*i)),
        many => {
            let names: Vec<&str> = many.iter().map(|(_, n)| *n).collect();
            Err(format!(
                "{id} matches {plural} {}; name one",
                and_list(&names)
            ))
        }
    }
}

impl Config {
    /// The index in `reals` of the real `id` names: its name, or an address
    /// (`198.19.0.11` or `198.19.0.11:80`) exactly one real has.
    ///
    /// Errors: `real s9 does not exist`, `198.19.0.11 matches reals s1 and s4; name one`.
    pub fn find_real(&self, id: &str) -> Result<usize, String> {
        if let Some(i) = self.reals.iter().position(|r| r.name == id) {
            return Ok(i);
        }
        by_address(
            id,
            "reals",
            self.reals.iter().map(|r| (r.name.as_str(), r.address)),
        )?
        .ok_or_else(|| format!("real {id} does not exist"))
    }

    /// The virtual named by `virtual_id` and the position of its rule `rule`.
    pub(super) fn find_rule(&self, virtual_id: &str, rule: &str) -> Result<(usize, usize), String> {
        let v = self.find_virtual(virtual_id)?;
        let virt = &self.virtuals[v];
        match virt.rules.iter().position(|r| r.name == rule) {
            Some(j) => Ok((v, j)),
            None => Err(format!(
                "rule {rule} does not exist in virtual {}",
                virt.name
            )),
        }
    }

    /// The index in `virtuals` of the virtual `id` names: its name, or an address
    /// (`198.18.0.100` or `198.18.0.100:80`) exactly one virtual has. A DIP is not in
    /// `virtuals`: see [`Config::find_dip`].
    ///
    /// Errors: `virtual www2 does not exist`, `198.18.0.100 matches virtuals www and
    /// www-tls; name one`.
    pub fn find_virtual(&self, id: &str) -> Result<usize, String> {
        if let Some(i) = self.virtuals.iter().position(|v| v.name == id) {
            return Ok(i);
        }
        by_address(
            id,
            "virtuals",
            self.virtuals.iter().map(|v| (v.name.as_str(), v.address)),
        )?
        .ok_or_else(|| format!("virtual {id} does not exist"))
    }

    /// The index in `urls` of the URL called `id`. Error: `url x does not exist`.
    pub fn find_url(&self, id: &str) -> Result<usize, String> {
        self.urls
            .iter()
            .position(|u| u.name == id)
            .ok_or_else(|| format!("url {id} does not exist"))
    }

    /// The index in `dips` of the DIP `id` names: its IP address (`198.19.0.11`) or its
    /// socket (`198.19.0.11:80`, see [`Config::dip_socket`]). `None` when no DIP has it.
    pub fn find_dip(&self, id: &str) -> Option<usize> {
        if let Ok(ip) = id.parse::<Ipv4Addr>() {
            return self.dips.iter().position(|d| d.address == ip);
        }
        let socket = id.parse::<SocketAddrV4>().ok()?;
        self.dips.iter().position(|d| {
            d.address == *socket.ip()
                && validate::dip_real(&self.reals, d.address)
                    .is_ok_and(|r| self.reals[r].address == socket)
        })
    }

    /// The index in `reals` of the real `dips[i]` pairs with: the one real whose IP
    /// address is the DIP's.
    ///
    /// # Panics
    /// If `i` is out of range, or on a configuration that fails [`Config::validate`]
    /// (no real, or several, have the DIP's address).
    pub fn dip_real(&self, i: usize) -> usize {
        validate::dip_real(&self.reals, self.dips[i].address).unwrap_or_else(|m| {
            panic!("dip[{i}].address: {m} (the configuration was not validated)")
        })
    }

    /// Where clients reach `dips[i]`: its IP address and its real's TCP port.
    ///
    /// # Panics
    /// As [`Config::dip_real`].
    pub fn dip_socket(&self, i: usize) -> SocketAddrV4 {
        SocketAddrV4::new(
            self.dips[i].address,
            self.reals[self.dip_real(i)].address.port(),
        )
    }
}
