//! The commands of erasure: `erase-owner`, `replace-owner-key` and `reapply-erasures`.

use std::process::ExitCode;

use crate::connect::{Aws, KeyArgs, error_text};
use crate::models::Model;

/// `erase-owner`: destroys the owner's key, after `--yes`.
pub(crate) async fn erase_owner(
    model: &dyn Model,
    aws: &Aws,
    table: &str,
    owner: &str,
    yes: bool,
    key_args: &KeyArgs,
) -> Result<ExitCode, String> {
    if !yes {
        return Err(
            "erasing an owner cannot be undone: every copy of their records, backups included, \
             becomes unreadable. Add --yes to erase"
                .to_owned(),
        );
    }
    let owner = owner_id(owner)?;
    let keys = aws.erasure_keys(key_args, &model.schema()).await?;
    let erased = model
        .erase_owner(aws.store(), keys, table, &owner)
        .await
        .map_err(|e| error_text(&e))?;
    let key_table = key_args.owner_keys_table.as_deref().unwrap_or_default();
    if erased {
        println!(
            "erased the owner's key from the key table {key_table}: their records and every \
             copy of them can no longer be opened (delete the records too, to free the space)"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        // A mistyped id, or another key table: say so, with a status a pipeline sees.
        println!(
            "the key table {key_table} holds no key of this owner: nothing erased (erased \
             before, never wrote a record, or another id or key table)"
        );
        Ok(ExitCode::from(1))
    }
}

/// `replace-owner-key`: begins the replacement of the owner's key (a new key from the KMS key
/// `--kms-key`), or with `--finish` erases the old key.
pub(crate) async fn replace_owner_key(
    model: &dyn Model,
    aws: &Aws,
    table: &str,
    owner: &str,
    finish: bool,
    key_args: &KeyArgs,
) -> Result<ExitCode, String> {
    let owner = owner_id(owner)?;
    let schema = model.schema();
    // Beginning makes a data key; finishing only signs the tombstone.
    let keys = match finish {
        false => aws.keys(key_args, &schema).await?,
        true => aws.erasure_keys(key_args, &schema).await?,
    };
    let done = model
        .replace_owner_key(aws.store(), keys, table, &owner, finish)
        .await
        .map_err(|e| error_text(&e))?;
    let key_table = key_args.owner_keys_table.as_deref().unwrap_or_default();
    match (finish, done) {
        (false, true) => println!(
            "began replacing the owner's key in the key table {key_table}: new records are \
             sealed under the new key. Once the owner-key cache age of every process has \
             passed, re-encrypt the table (rotate --mode reencrypt, a new --name, the same \
             --owner-key-cache-age), then run this again with --finish --yes"
        ),
        (true, true) => println!(
            "finished replacing the owner's key in the key table {key_table}: the old key is \
             erased; a copy of their records under it can no longer be opened"
        ),
        (false, false) => {
            println!("the key table {key_table} holds no key of this owner: nothing to replace")
        }
        (true, false) => println!(
            "no replacement of this owner's key is under way (finished before, or never begun): \
             nothing erased"
        ),
    }
    Ok(if done {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `reapply-erasures`: the sweep after a restore of the key table.
pub(crate) async fn reapply_erasures(aws: &Aws, key_args: &KeyArgs) -> Result<ExitCode, String> {
    let Some(table) = key_args.owner_keys_table.as_deref() else {
        return Err(
            "name the key table with --owner-keys-table (or CRYPT_MODEL_OWNER_KEYS_TABLE)"
                .to_owned(),
        );
    };
    let keys = aws.owner_keys(key_args, table).await?;
    let deleted = keys.reapply_erasures().await.map_err(|e| error_text(&e))?;
    println!(
        "{deleted} key rows of erased owners, put back since their erasure, deleted again from \
         the key table {table}"
    );
    Ok(ExitCode::SUCCESS)
}

/// The owner's id: the argument, or with `-` a line of standard input (so that the id is not
/// in the process list or the shell's history).
fn owner_id(argument: &str) -> Result<String, String> {
    if argument != "-" {
        return Ok(argument.to_owned());
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the owner's id from standard input: {e}"))?;
    let id = line.trim_end_matches(['\r', '\n']);
    if id.is_empty() {
        return Err("--owner -: standard input held no owner id".to_owned());
    }
    Ok(id.to_owned())
}
