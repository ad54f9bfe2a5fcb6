//! `ceremony bootstrap set FILE --item NAMESPACE/NAME/KEY`: a new value for
//! one item of a sealed Secret (`docs/runbooks/credential-leak.md`). The
//! rules are the library's ([`ceremony::bootstrap::set`]); this module reads
//! the value (stdin or a hidden prompt, into wiping buffers), gathers the
//! identities that open the file, and reports.

use std::io::IsTerminal;

use anyhow::Result;
use ceremony::bootstrap::set as lib;
use ceremony::bootstrap::{Configs, plan};
use ceremony::clock::SystemClock;
use ceremony::fsio::{self, Cap};
use ceremony::handover::items::{Field, ItemRef};
use ceremony::identity::{self, IdentityError, Keyring, ProcessEnvironment};
use ceremony::secret::SecretBytes;
use zeroize::Zeroizing;

use super::super::CliError;
use super::super::args::BootstrapSetArgs;
use super::super::output::{self, note, printable};
use super::super::prompt::TerminalCallbacks;

/// How many times a value typed at the terminal may be mistyped.
const PROMPT_TRIES: usize = 3;

/// Runs `bootstrap set`.
pub fn run(args: &BootstrapSetArgs) -> Result<()> {
    let item = ItemRef::parse(&args.item).map_err(|e| CliError::Usage(format!("--item: {e}")))?;
    let shown = printable(&args.file.display().to_string());
    // Everything that can be checked without a key or the value is
    // checked first: a typo fails before anyone types a secret or a
    // quorum gathers.
    let located = lib::check_file(&args.file, &item)?;
    note!(
        "{shown}: Secret {} key {} is under {}{}",
        item.secret,
        printable(&item.key),
        located.item.field.as_str(),
        match located.item.field {
            Field::Data => " (the new value is stored base64-encoded)",
            Field::StringData => " (the new value is stored as it is)",
        }
    );
    let identities = identities(args)?;
    lib::check_opens(&args.file, &identities)?;
    let value = read_value(&item, args.keep_newline)?;
    let layout = plan::layout_for(&args.file, &mut Configs::new(args.config.as_deref())?)?;
    let done = lib::set_in_place(
        &args.file,
        &item,
        &value,
        &layout,
        &identities,
        &SystemClock,
    )?;
    output::leftovers(&done.written.leftovers);
    if done.written.old_content_links > 0 {
        // Refused before the work; only a link made in the rename's own
        // window gets here.
        note!(
            "warning: {shown}: {} other name(s) (hard links) of this file still hold the old value; list them with `find / -xdev -samefile {shown}`",
            done.written.old_content_links
        );
    }
    note!(
        "✓ {shown}: {} set ({}); the file has a new data key, sealed to the same recipients, and every other value is as it was",
        done.item.id(),
        done.item.field.as_str()
    );
    note!(
        "  the old value stays in Git history, sealed under the old data key: it must be changed at its source too"
    );
    Ok(())
}

/// The identities that open the file: `-i` (and the places sops looks),
/// plus the root's bootstrap identities rebuilt from a quorum's bundles.
/// With bundles, having no `-i` identity at all is fine (passphrase
/// custodians are asked on the terminal).
fn identities(args: &BootstrapSetArgs) -> Result<Keyring> {
    let mut identities = match identity::sops_identities(
        &args.identities.identities,
        &ProcessEnvironment,
        TerminalCallbacks,
    ) {
        Ok(found) => found,
        Err(IdentityError::NoIdentity) if !args.quorum.bundles.is_empty() => Keyring::default(),
        Err(e) => return Err(e.into()),
    };
    let rebuilt = super::quorum_identities(args.root.as_deref(), &args.quorum, &identities)?;
    identities.extend(rebuilt);
    Ok(identities)
}

/// The new value: from a terminal, typed twice without echo; otherwise the
/// whole of stdin, at most [`Cap::Secret`], less one trailing newline
/// unless `keep_newline`.
fn read_value(item: &ItemRef, keep_newline: bool) -> Result<SecretBytes> {
    if std::io::stdin().is_terminal() {
        return prompt_value(item);
    }
    let mut value = read_stdin()?;
    if !keep_newline {
        let strip = if value.ends_with(b"\r\n") {
            Some(2)
        } else if value.ends_with(b"\n") {
            Some(1)
        } else {
            None
        };
        if let Some(n) = strip {
            // The buffer keeps its capacity, which Zeroizing wipes whole.
            let kept = value.len().saturating_sub(n);
            value.truncate(kept);
            note!(
                "removed one trailing {} from stdin (--keep-newline keeps it)",
                if n == 2 { "\\r\\n" } else { "\\n" }
            );
        }
    }
    Ok(SecretBytes::from_slice(&value))
}

fn read_stdin() -> Result<Zeroizing<Vec<u8>>> {
    Ok(fsio::read_secret(std::io::stdin().lock(), "stdin")?)
}

/// Asks twice on the terminal, without echo, until both entries agree.
fn prompt_value(item: &ItemRef) -> Result<SecretBytes> {
    let ask = |prompt: String| -> Result<SecretBytes> {
        let text = Zeroizing::new(rpassword::prompt_password(prompt).map_err(|_| {
            CliError::Input(
                "could not read the new value from the terminal; pipe it in instead".into(),
            )
        })?);
        if text.len() as u64 > Cap::Secret.bytes() {
            return Err(fsio::FsError::TooLarge {
                path: "the terminal".into(),
                limit: Cap::Secret.bytes(),
                what: "a secret",
            }
            .into());
        }
        Ok(SecretBytes::from_slice(text.as_bytes()))
    };
    for _ in 0..PROMPT_TRIES {
        let first = ask(format!("New value for {} (not shown): ", item.id()))?;
        if first.is_empty() {
            note!("The value is empty; try again.");
            continue;
        }
        let second = ask(format!("Type the new value for {} again: ", item.id()))?;
        if first.ct_eq(&second) {
            return Ok(first);
        }
        note!("The two entries differ; try again.");
    }
    Err(CliError::Input(format!(
        "the new value for {} was not confirmed after {PROMPT_TRIES} tries; nothing was written",
        item.id()
    ))
    .into())
}
