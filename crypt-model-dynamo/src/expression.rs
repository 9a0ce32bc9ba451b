//! Condition, key-condition and update expressions with `#name` and `:value` placeholders: no
//! value or attribute name is ever written into the expression text.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue as Sdk;
use crypt_model::AttributeValue;
use crypt_model::store::{Condition, SortCondition, Update};

use crate::convert::to_sdk;

/// Builds expressions and collects their placeholders.
#[derive(Default)]
pub(crate) struct Expressions {
    names: HashMap<String, String>,
    values: HashMap<String, Sdk>,
}

impl Expressions {
    /// A placeholder for an attribute name.
    pub(crate) fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// A placeholder for a value.
    pub(crate) fn value(&mut self, value: &AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), to_sdk(value));
        placeholder
    }

    /// A condition expression; `None` when the condition always holds. `key` is an attribute
    /// every stored item has (the partition key), for (non-)existence.
    pub(crate) fn condition(&mut self, condition: &Condition, key: &str) -> Option<String> {
        match condition {
            Condition::Always => None,
            Condition::NotExists => Some(format!("attribute_not_exists({})", self.name(key))),
            Condition::Exists => Some(format!("attribute_exists({})", self.name(key))),
            Condition::Equals(attribute, value) => {
                Some(format!("{} = {}", self.name(attribute), self.value(value)))
            }
            Condition::Absent(attribute) => {
                Some(format!("attribute_not_exists({})", self.name(attribute)))
            }
            Condition::And(all) => {
                let parts: Vec<String> =
                    all.iter().filter_map(|c| self.condition(c, key)).collect();
                (!parts.is_empty()).then(|| grouped(parts, " AND "))
            }
            Condition::Or(any) => {
                let mut parts = Vec::with_capacity(any.len());
                for c in any {
                    // A branch that always holds makes the whole `or` hold.
                    parts.push(self.condition(c, key)?);
                }
                Some(grouped(parts, " OR "))
            }
        }
    }

    /// A condition that always holds, for requests that require one (a condition check).
    pub(crate) fn always(&mut self, key: &str) -> String {
        let key = self.name(key);
        format!("(attribute_exists({key}) OR attribute_not_exists({key}))")
    }

    /// A key-condition expression for a query.
    pub(crate) fn key_condition(
        &mut self,
        partition_key: &str,
        partition: &AttributeValue,
        sort_key: Option<&str>,
        sort: Option<&SortCondition>,
    ) -> String {
        let mut expression = format!("{} = {}", self.name(partition_key), self.value(partition));
        if let (Some(sort_key), Some(sort)) = (sort_key, sort) {
            let key = self.name(sort_key);
            let part = match sort {
                SortCondition::Eq(v) => format!("{key} = {}", self.value(v)),
                SortCondition::Lt(v) => format!("{key} < {}", self.value(v)),
                SortCondition::Le(v) => format!("{key} <= {}", self.value(v)),
                SortCondition::Gt(v) => format!("{key} > {}", self.value(v)),
                SortCondition::Ge(v) => format!("{key} >= {}", self.value(v)),
                SortCondition::Between(low, high) => {
                    format!("{key} BETWEEN {} AND {}", self.value(low), self.value(high))
                }
                SortCondition::BeginsWith(prefix) => {
                    format!("begins_with({key}, {})", self.value(prefix))
                }
            };
            expression = format!("{expression} AND {part}");
        }
        expression
    }

    /// An update expression: `SET #a = :a, … REMOVE #r, …`.
    pub(crate) fn update(&mut self, update: &Update) -> String {
        let sets: Vec<String> = update
            .set
            .iter()
            .map(|(name, value)| format!("{} = {}", self.name(name), self.value(value)))
            .collect();
        let removes: Vec<String> = update.remove.iter().map(|name| self.name(name)).collect();
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            if !expression.is_empty() {
                expression.push(' ');
            }
            expression.push_str(&format!("REMOVE {}", removes.join(", ")));
        }
        expression
    }

    /// The name placeholders, or `None` when there are none (DynamoDB refuses an empty map).
    pub(crate) fn names(&mut self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| std::mem::take(&mut self.names))
    }

    /// The value placeholders, or `None` when there are none.
    pub(crate) fn values(&mut self) -> Option<HashMap<String, Sdk>> {
        (!self.values.is_empty()).then(|| std::mem::take(&mut self.values))
    }
}

/// `parts` joined by `operator`, in parentheses when there are several: DynamoDB refuses
/// parentheses around a single operand ("redundant parentheses").
fn grouped(parts: Vec<String>, operator: &str) -> String {
    match <[String; 1]>::try_from(parts) {
        Ok([one]) => one,
        Err(parts) => format!("({})", parts.join(operator)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_of_one_condition_has_no_parentheses() {
        let mut names = Expressions::default();
        let one = Condition::And(vec![
            Condition::Exists,
            Condition::Or(vec![Condition::absent("clinic_id")]),
        ]);
        assert_eq!(
            names.condition(&one, "id").unwrap(),
            "(attribute_exists(#n0) AND attribute_not_exists(#n1))"
        );
        let mut names = Expressions::default();
        let single = Condition::And(vec![Condition::Exists]);
        assert_eq!(
            names.condition(&single, "id").unwrap(),
            "attribute_exists(#n0)"
        );
    }
}
