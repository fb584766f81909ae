//! Live changes of the high-water-mark settings (Circadence's "Load balancing between
//! multiple web servers", US 2002/0059170 A1): a real's `tier`, a virtual's queue and
//! the bind list's `priority` and `cost`, and a rule's `priority` and `cost`.

use super::ranged;
use crate::keys::{IntKey, COST, PRIORITY, QUEUE_SIZE, REAL_TIER};
use crate::Config;

/// One change of the queueing settings (see [`super::Edit::Class`]). Numbers are
/// carried as written and checked against the keys' ranges when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassEdit {
    /// `tier <real> <N>`: 1 an origin, 2 and up its mirrors.
    Tier {
        /// The real.
        id: String,
        /// 1..=16.
        tier: u32,
    },
    /// `queue <virtual> [size N] [priority N] [cost N]`: the virtual's `queue_size`, and
    /// the `priority` and `cost` of its bind list (and of its rules that set none).
    Queue {
        /// The virtual.
        virtual_id: String,
        /// `queue_size`, when given.
        size: Option<u32>,
        /// `priority`, when given.
        priority: Option<u32>,
        /// `cost`, when given.
        cost: Option<u32>,
    },
    /// `rule class <virtual> <rule> [priority N|default] [cost N|default]`: the rule's own
    /// `priority` and `cost`; `None` leaves one as it is, `Some(None)` makes the rule take
    /// the virtual's again.
    Rule {
        /// The virtual.
        virtual_id: String,
        /// The rule's name.
        rule: String,
        /// `priority`, when given.
        priority: Option<Option<u32>>,
        /// `cost`, when given.
        cost: Option<Option<u32>>,
    },
}

/// A value of `key` as written, checked against its range.
fn checked(key: &IntKey<u16>, value: u32) -> Result<u16, String> {
    let field = key.name.rsplit('.').next().unwrap_or(key.name);
    ranged(
        value,
        key.min as u32,
        key.max as u32,
        &format!("{field} must be {}..={}", key.min, key.max),
    )
}

impl Config {
    pub(super) fn apply_class(&mut self, edit: &ClassEdit) -> Result<(), String> {
        match edit {
            ClassEdit::Tier { id, tier } => {
                let tier = checked(&REAL_TIER, *tier)?;
                let r = self.find_real(id)?;
                self.reals[r].tier = tier;
            }
            ClassEdit::Queue {
                virtual_id,
                size,
                priority,
                cost,
            } => {
                let size = size.map(|s| checked(&QUEUE_SIZE, s)).transpose()?;
                let priority = priority.map(|p| checked(&PRIORITY, p)).transpose()?;
                let cost = cost.map(|c| checked(&COST, c)).transpose()?;
                if (size, priority, cost) == (None, None, None) {
                    return Err("queue takes size, priority or cost".to_string());
                }
                let v = self.find_virtual(virtual_id)?;
                let virt = &mut self.virtuals[v];
                virt.queue_size = size.unwrap_or(virt.queue_size);
                virt.priority = priority.unwrap_or(virt.priority);
                virt.cost = cost.unwrap_or(virt.cost);
            }
            ClassEdit::Rule {
                virtual_id,
                rule,
                priority,
                cost,
            } => {
                let own = |key, v: Option<u32>| v.map(|v| checked(key, v)).transpose();
                let priority = priority.map(|p| own(&PRIORITY, p)).transpose()?;
                let cost = cost.map(|c| own(&COST, c)).transpose()?;
                if (priority, cost) == (None, None) {
                    return Err("rule class takes priority or cost".to_string());
                }
                let (v, j) = self.find_rule(virtual_id, rule)?;
                let r = &mut self.virtuals[v].rules[j];
                r.priority = priority.unwrap_or(r.priority);
                r.cost = cost.unwrap_or(r.cost);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Edit;
    use super::*;
    use crate::fixtures::{with_ports, REALS};

    /// The fixture's reals, virtual www bound to s1 and s2 with the rule media for s2.
    fn config() -> Config {
        let www = "[[virtual]]\nname = \"www\"\naddress = \"198.18.0.100:80\"\n\
            bind = [\"s1\", \"s2\"]\n[[virtual.rule]]\nname = \"media\"\n\
            path_prefix = \"/v/\"\nbind = [\"s2\"]\n";
        Config::from_toml_str(&with_ports("", &format!("{REALS}{www}"))).unwrap()
    }

    fn edited(c: &Config, e: ClassEdit) -> Result<Config, String> {
        c.edited(&Edit::Class(e))
    }

    #[test]
    fn tier_queue_and_rule_classes_change_live() {
        let c = config();
        let c = edited(
            &c,
            ClassEdit::Tier {
                id: "s2".into(),
                tier: 2,
            },
        )
        .unwrap();
        assert_eq!(c.reals[1].tier, 2);
        assert_eq!(c.farm().reals[1].tier, 2);
        let c = edited(
            &c,
            ClassEdit::Queue {
                virtual_id: "www".into(),
                size: Some(16),
                priority: Some(2),
                cost: None,
            },
        )
        .unwrap();
        let v = &c.virtuals[0];
        assert_eq!((v.queue_size, v.priority, v.cost), (16, 2, 1));
        // The rule took the virtual's priority; then one of its own, then back.
        assert_eq!(c.farm().virtuals[0].rules[0].class.priority, 2);
        let c = edited(
            &c,
            ClassEdit::Rule {
                virtual_id: "www".into(),
                rule: "media".into(),
                priority: Some(Some(7)),
                cost: Some(Some(4)),
            },
        )
        .unwrap();
        let class = c.farm().virtuals[0].rules[0].class;
        assert_eq!((class.priority, class.cost), (7, 4));
        assert_eq!(Config::from_toml_str(&c.to_toml()).unwrap(), c);
        let c = edited(
            &c,
            ClassEdit::Rule {
                virtual_id: "www".into(),
                rule: "media".into(),
                priority: Some(None),
                cost: None,
            },
        )
        .unwrap();
        assert_eq!(c.virtuals[0].rules[0].priority, None);
        assert_eq!(c.virtuals[0].rules[0].cost, Some(4));
        assert_eq!(c.farm().virtuals[0].rules[0].class.priority, 2);
    }

    #[test]
    fn out_of_range_or_unknown_changes_nothing() {
        let c = config();
        let tier = |tier| ClassEdit::Tier {
            id: "s1".into(),
            tier,
        };
        assert_eq!(edited(&c, tier(0)).unwrap_err(), "tier must be 1..=16");
        assert_eq!(edited(&c, tier(17)).unwrap_err(), "tier must be 1..=16");
        let queue = |size, priority, cost| ClassEdit::Queue {
            virtual_id: "www".into(),
            size,
            priority,
            cost,
        };
        for (e, msg) in [
            (
                queue(Some(70_000), None, None),
                "queue_size must be 0..=65535",
            ),
            (queue(None, Some(8), None), "priority must be 0..=7"),
            (queue(None, None, Some(0)), "cost must be 1..=1000"),
            (
                queue(None, None, None),
                "queue takes size, priority or cost",
            ),
        ] {
            assert_eq!(edited(&c, e).unwrap_err(), msg);
        }
        let rule = |rule: &str, priority| ClassEdit::Rule {
            virtual_id: "www".into(),
            rule: rule.into(),
            priority,
            cost: None,
        };
        assert_eq!(
            edited(&c, rule("img", Some(Some(1)))).unwrap_err(),
            "rule img does not exist in virtual www"
        );
        assert_eq!(
            edited(&c, rule("media", Some(Some(9)))).unwrap_err(),
            "priority must be 0..=7"
        );
        assert_eq!(
            edited(&c, rule("media", None)).unwrap_err(),
            "rule class takes priority or cost"
        );
        assert!(edited(&c, tier(1)).is_ok());
        assert!(edited(
            &c,
            ClassEdit::Tier {
                id: "s9".into(),
                tier: 1
            }
        )
        .is_err());
    }
}
