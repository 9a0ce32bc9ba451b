//! The table of job kinds: what each kind is, in one row that the run, the per-record decision
//! and the operator's command line all read.

use super::JobKind;

/// What a kind of job is, in one row that the run, the per-record decision, and the operator's
/// command line all read: [`JobKind::info`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KindInfo {
    /// The kind.
    pub kind: JobKind,
    /// Its name, as checkpoints, logs and the command line (`rotate --mode rewrap`) give it.
    pub name: &'static str,
    /// The command of the `crypt-model` command line that runs it; `audit` for the inventory,
    /// which an audit with a model runs; `migrate` (`migrate --plan`) for the migration plan.
    pub command: &'static str,
    /// Whether it writes records (its caller then needs a write grant too).
    pub writes: bool,
    /// Whether it seals records again under a current data key (for a model with a key per
    /// owner, under the owner's key).
    pub new_data_key: bool,
    /// Whether it is a rotation of the key-encryption key, which for a model with a key per
    /// owner goes on with the key table's rows ([`Keys::rewrap_owner_keys`](crate::Keys::rewrap_owner_keys)).
    pub rotation: bool,
}

/// Every kind of job, in one table.
pub const KINDS: [KindInfo; 6] = [
    KindInfo {
        kind: JobKind::Migrate,
        name: "migrate",
        command: "migrate",
        writes: true,
        new_data_key: true,
        rotation: false,
    },
    KindInfo {
        kind: JobKind::Reencrypt,
        name: "reencrypt",
        command: "rotate",
        writes: true,
        new_data_key: true,
        rotation: true,
    },
    KindInfo {
        kind: JobKind::Rewrap,
        name: "rewrap",
        command: "rotate",
        writes: true,
        new_data_key: false,
        rotation: true,
    },
    KindInfo {
        kind: JobKind::Backfill,
        name: "backfill",
        command: "backfill-index",
        writes: true,
        new_data_key: true,
        rotation: false,
    },
    KindInfo {
        kind: JobKind::Inventory,
        name: "inventory",
        command: "audit",
        writes: false,
        new_data_key: false,
        rotation: false,
    },
    KindInfo {
        kind: JobKind::PlanMigration,
        name: "plan-migration",
        command: "migrate",
        writes: false,
        new_data_key: false,
        rotation: false,
    },
];

impl JobKind {
    /// The kind's row of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        // Each kind has one row, in the order of the enum (checked by a test).
        &KINDS[self as usize]
    }

    /// The kind's name, as checkpoints and logs give it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The kind named `name` ([`KindInfo::name`]).
    pub fn from_name(name: &str) -> Option<JobKind> {
        KINDS
            .iter()
            .find(|info| info.name == name)
            .map(|info| info.kind)
    }

    /// Whether the kind writes.
    pub(super) fn writes(self) -> bool {
        self.info().writes
    }
}

#[cfg(test)]
mod tests {
    use super::{JobKind, KINDS};

    #[test]
    fn each_kind_has_its_row_and_its_name() {
        for (i, info) in KINDS.iter().enumerate() {
            assert_eq!(info.kind as usize, i, "{info:?}");
            assert_eq!(info.kind.info(), info);
            assert_eq!(JobKind::from_name(info.name), Some(info.kind));
        }
        assert_eq!(JobKind::from_name("shred"), None);
    }
}
