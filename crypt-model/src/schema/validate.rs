//! The rules a schema keeps: table and attribute names, reserved names, roles that cannot share
//! an attribute.

use super::{DelegateScope, Schema, secondary};
use crate::attribute::KeyType;
use crate::encoding::RESERVED_PREFIX;
use crate::error::{ConfigError, Error, Result};

impl Schema {
    /// Checks the table name and the attribute names: valid names, none reserved, no sensitive
    /// attribute that is also a key or the owner, no attribute named twice; and, for a schema
    /// the derive built, that the authenticated attributes it computed are the schema's. Every
    /// rule, every time: a table checks its model's schema once, when it is made.
    pub fn validate(&self) -> Result<()> {
        self.check_rules()?;
        if let Some(names) = self.authenticated {
            let computed = Schema {
                authenticated: None,
                ..*self
            };
            if computed.authenticated() != names {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: "the authenticated attributes it was given are not those its \
                             attributes make (a schema written by hand, not by the derive?)"
                        .to_owned(),
                }));
            }
        }
        Ok(())
    }

    /// [`validate`](Self::validate), skipped for a schema the derive checked at compile time:
    /// what every record read and written asks, after the table (or the raw API) checked the
    /// schema once in full.
    pub(crate) fn validated(&self) -> Result<()> {
        if self.checked {
            return Ok(());
        }
        self.validate()
    }

    fn check_rules(&self) -> Result<()> {
        validate_table_name(self.table)?;
        let keys = [Some(self.partition_key), self.sort_key, Some(self.owner)];
        for name in keys
            .into_iter()
            .flatten()
            .chain(self.sensitive.iter().copied())
        {
            validate_attribute_name(name)?;
        }
        if self.owner_type() == KeyType::B {
            return Err(Error::Config(ConfigError::InvalidSchema {
                table: self.table.to_owned(),
                reason: format!(
                    "the owner `{}` must be a string or a number, not binary",
                    self.owner
                ),
            }));
        }
        if self.sort_key == Some(self.partition_key) {
            return Err(Error::Config(ConfigError::InvalidSchema {
                table: self.table.to_owned(),
                reason: format!(
                    "the sort key cannot be the partition key `{}`",
                    self.partition_key
                ),
            }));
        }
        if let Some(version) = self.version
            && (keys.contains(&Some(version)) || self.is_sensitive(version))
        {
            return Err(Error::Config(ConfigError::InvalidSchema {
                table: self.table.to_owned(),
                reason: format!(
                    "the version attribute `{version}` must be a plain field of its own"
                ),
            }));
        }
        let plain = || self.plain.iter().chain(self.unauthenticated);
        for (i, name) in plain().enumerate() {
            validate_attribute_name(name)?;
            if keys.contains(&Some(name)) || self.version == Some(name) || self.is_sensitive(name) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!(
                        "`{name}` is listed as a plain attribute and is also a key, the \
                         owner, the version or sensitive"
                    ),
                }));
            }
            if plain().take(i).any(|other| other == name) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!("plain attribute `{name}` is listed twice"),
                }));
            }
        }
        for spec in self.indexes {
            spec.validate(self.table)?;
            if !self.is_sensitive(spec.field()) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!("the index on `{}` needs a sensitive field", spec.field()),
                }));
            }
        }
        secondary::validate(self)?;
        for (i, delegation) in self.delegations.iter().enumerate() {
            let name = delegation.attribute();
            if !self.plain.contains(&name) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!(
                        "the delegation attribute `{name}` must be a plain, authenticated \
                         attribute other than a key, the owner and the version (the gate reads \
                         it before anything is decrypted, and the item's integrity check must \
                         cover it)"
                    ),
                }));
            }
            if delegation.is_reassignable() && delegation.scope() != DelegateScope::Write {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!(
                        "the delegation attribute `{name}` is reassignable but gives read \
                         access only: reassigning is a write"
                    ),
                }));
            }
            if self.delegations[..i].iter().any(|d| d.attribute() == name) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!("the delegation attribute `{name}` is listed twice"),
                }));
            }
        }
        for (i, field) in self.sensitive.iter().enumerate() {
            if keys.contains(&Some(field)) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!(
                        "`{field}` is a key or the owner and cannot be sensitive: a \
                         randomly encrypted value cannot be looked up or checked"
                    ),
                }));
            }
            if self.sensitive[..i].contains(field) {
                return Err(Error::Config(ConfigError::InvalidSchema {
                    table: self.table.to_owned(),
                    reason: format!("sensitive attribute `{field}` is listed twice"),
                }));
            }
        }
        Ok(())
    }
}

/// Checks a table name against DynamoDB's rules: 3 to 255 characters of `A-Z a-z 0-9 _ . -`.
pub fn validate_table_name(name: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !(3..=255).contains(&name.len()) || !name.chars().all(allowed) {
        return Err(Error::Config(ConfigError::InvalidTableName {
            name: name.to_owned(),
        }));
    }
    Ok(())
}

/// Checks an attribute name: 1 to 255 bytes, not starting with the reserved `__cm`.
pub(crate) fn validate_attribute_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(Error::Config(ConfigError::InvalidAttributeName {
            name: name.to_owned(),
            reason: "an attribute name is 1 to 255 bytes".to_owned(),
        }));
    }
    if name.starts_with(RESERVED_PREFIX) {
        return Err(Error::Config(ConfigError::InvalidAttributeName {
            name: name.to_owned(),
            reason: format!(
                "names starting with `{RESERVED_PREFIX}` are reserved for crypt-model's own \
                 attributes"
            ),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Schema;

    const FINE: Schema = Schema::new("hand_written", "user_id", "user_id").with_sensitive(&["ssn"]);

    #[test]
    fn a_schema_that_claims_the_derive_checked_it_is_checked_all_the_same() {
        assert!(FINE.validate().is_ok());
        // A reserved name, a sensitive owner: refused even when the schema says it was checked.
        let reserved = Schema::new("hand_written", "user_id", "user_id")
            .with_sensitive(&["__cm_sealed"])
            .__checked();
        assert!(reserved.validate().is_err());
        let owner = Schema::new("hand_written", "user_id", "user_id")
            .with_sensitive(&["user_id"])
            .__checked();
        assert!(owner.validate().is_err());
        // Authenticated attributes other than its own (the owner left out, say): refused.
        let partial = FINE.__authenticated(&["zzz"]).__checked();
        assert!(partial.validate().is_err());
        let own: &'static [&'static str] = &["user_id"];
        assert!(FINE.__authenticated(own).__checked().validate().is_ok());
    }
}
