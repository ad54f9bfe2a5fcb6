//! The work on one file: seal, open, update its keys, rotate its data key.
//!
//! Every in-place operation reads the file once ([`fsio::read_stamped`]),
//! decides everything in memory, and replaces the file only if nobody
//! changed it meanwhile ([`fsio::Batch::replace_if_unchanged`]), keeping
//! its mode. The replacement is part of a batch (one file or a tree): it
//! is durable once the batch is finished ([`super::batch::run_writing`]).
//! Plaintext read from a file is held in wiping buffers.

use std::path::Path;

use zeroize::Zeroizing;

use super::Error;
use super::plan::Plan;
use crate::clock::Clock;
use crate::fsio::{self, Cap};
use crate::identity::{Identity, Keyring};
use crate::kube;
use crate::secret::SecretBytes;
use crate::sops::{self, CryptRule, EncryptOptions, Format, MacCheck};
use crate::walk::Target;

/// What an operation did to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// Changed (sealed, updated, rotated), and what the write found on the
    /// way: leftovers of killed runs beside the file, and how many other
    /// names (hard links) still hold its old content.
    Changed(fsio::Written),
    /// Moved to other recipients and, since it lost one, given a new data
    /// key (updatekeys); and what the write found, as for `Changed`.
    Rekeyed(fsio::Written),
    /// Nothing to do: already sealed, recipients already current.
    Unchanged,
    /// Not a file this operation works on (a walked file that is not
    /// sealed, for updatekeys and rotate), with the reason.
    Skipped(String),
}

/// The rule a Secret manifest is sealed with when `.sops.yaml` sets none.
pub fn secret_rule() -> CryptRule {
    // A constant, valid pattern: compiling it cannot fail, and the default
    // rule would never be weaker than intended for the file anyway.
    CryptRule::from_field("encrypted_regex", kube::SECRET_ENCRYPTED_REGEX).unwrap_or_default()
}

/// Seals `plain` as `plan` says; `None` if it is sealed already. A file with
/// any Secret (a document, an item of a List, a Secret reached through a
/// merge key) gets the Secret rule unless the plan sets one, so that its
/// kind and metadata stay readable to kustomize and Flux.
pub fn seal_bytes(
    plain: &[u8],
    format: Format,
    plan: &Plan,
    clock: &dyn Clock,
) -> Result<Option<Vec<u8>>, sops::Error> {
    let mut tree = match sops::parse_plain(plain, format) {
        Ok(tree) => tree,
        Err(sops::Error::AlreadyEncrypted) => return Ok(None),
        Err(e) => return Err(e),
    };
    let rule = match &plan.rule {
        Some(rule) => Some(rule.clone()),
        None if kube::holds_secret(&tree) => Some(secret_rule()),
        None => None,
    };
    let opts = EncryptOptions {
        key_groups: plan.key_groups.clone(),
        rule,
        mac_only_encrypted: plan.mac_only_encrypted,
    };
    sops::encrypt_tree_with(&mut tree, format, &opts, &plan.layout, clock).map(Some)
}

/// Seals one file in place, as part of `writes`. A cleartext file with
/// other names (hard links) is refused before anything is sealed: the
/// rename replaces this name only, and each other name would go on holding
/// the cleartext while the operator believes it sealed. (A link made after
/// the read is caught before the rename: it changes the file's stamp.)
pub fn seal_in_place(
    path: &Path,
    plan: &Plan,
    clock: &dyn Clock,
    writes: &fsio::Batch,
) -> Result<Done, Error> {
    let (plain, stamp) = read_stamped(path)?;
    let format = Format::from_path(path);
    if stamp.hard_links() > 1 {
        // A file sealed already is left as it is, and so are its other
        // names: they hold the same sealed bytes.
        return match sops::parse_plain(&plain, format) {
            Err(sops::Error::AlreadyEncrypted) => Ok(Done::Unchanged),
            Err(e) => Err(Error::sops(path, e)),
            Ok(_) => Err(Error::HardLinked {
                file: path.to_owned(),
                links: stamp.hard_links(),
            }),
        };
    }
    match seal_bytes(&plain, format, plan, clock).map_err(|e| Error::sops(path, e))? {
        None => Ok(Done::Unchanged),
        Some(sealed) => Ok(Done::Changed(
            writes.replace_if_unchanged(path, &sealed, stamp)?,
        )),
    }
}

/// Seals one file and returns the result (for stdout); a file sealed
/// already is an error here, since there is nothing to print.
pub fn seal_to_bytes(path: &Path, plan: &Plan, clock: &dyn Clock) -> Result<Vec<u8>, Error> {
    let plain = Zeroizing::new(fsio::read_input(path, Cap::Manifest)?);
    seal_bytes(&plain, Format::from_path(path), plan, clock)
        .map_err(|e| Error::sops(path, e))?
        .ok_or_else(|| Error::sops(path, sops::Error::AlreadyEncrypted))
}

/// Opens (decrypts) one file, MAC checked.
pub fn open(path: &Path, identities: &[Identity]) -> Result<SecretBytes, Error> {
    open_with(path, identities, MacCheck::Verify)
}

/// Opens one file, checking its MAC or not (`bootstrap open --ignore-mac`).
pub fn open_with(
    path: &Path,
    identities: &[Identity],
    mac_check: MacCheck,
) -> Result<SecretBytes, Error> {
    let sealed = fsio::read_input(path, Cap::Manifest)?;
    sops::decrypt(&sealed, Format::from_path(path), identities, mac_check)
        .map_err(|e| Error::sops(path, e))
}

/// Moves one sealed file to the plan's key groups (sops `updatekeys`),
/// unless it already has exactly them. A file that loses a recipient also
/// gets a new data key (which sops `updatekeys` does not do): the removed
/// recipient could open the old data key, and so every value under it,
/// from any copy of the file it ever saw. The file is replaced as part of
/// `writes`.
pub fn update_in_place(
    target: &Target,
    plan: &Plan,
    identities: &Keyring,
    clock: &dyn Clock,
    writes: &fsio::Batch,
) -> Result<Done, Error> {
    let path = &target.path;
    let (sealed, stamp) = read_stamped(path)?;
    let format = Format::from_path(path);
    let file = match sops::SealedFile::parse(&sealed, format) {
        Ok(file) => file,
        Err(sops::Error::MetadataNotFound) if target.walked => {
            return Ok(Done::Skipped("not sealed".into()));
        }
        Err(e) => return Err(Error::sops(path, e)),
    };
    let recorded = file.age_recipients();
    let no_opaque = file.opaque_key_count() == 0;
    if no_opaque
        && plan
            .key_groups
            .matches(&recorded, file.metadata().shamir_threshold)
    {
        return Ok(Done::Unchanged);
    }
    let kept = plan.key_groups.recipients();
    let loses_one = recorded
        .iter()
        .flatten()
        .any(|had| !kept.iter().any(|k| *k == had.as_str()));
    let updated = if loses_one && no_opaque {
        file.rotate_to(identities, Some(&plan.key_groups), &plan.layout, clock)
    } else {
        file.update_keys(identities, &plan.key_groups, &plan.layout)
    }
    .map_err(|e| Error::sops(path, e))?;
    let written = writes.replace_if_unchanged(path, &updated, stamp)?;
    Ok(if loses_one && no_opaque {
        Done::Rekeyed(written)
    } else {
        Done::Changed(written)
    })
}

/// Gives one sealed file a new data key (sops `rotate`), replacing it as
/// part of `writes`. `layout` is how the rewritten file is laid out
/// ([`super::plan::layout_for`]).
pub fn rotate_in_place(
    target: &Target,
    layout: &sops::StoreOptions,
    identities: &[Identity],
    clock: &dyn Clock,
    writes: &fsio::Batch,
) -> Result<Done, Error> {
    let path = &target.path;
    let (sealed, stamp) = read_stamped(path)?;
    match sops::rotate_to(
        &sealed,
        Format::from_path(path),
        identities,
        None,
        layout,
        clock,
    ) {
        Ok(rotated) => Ok(Done::Changed(
            writes.replace_if_unchanged(path, &rotated, stamp)?,
        )),
        Err(sops::Error::MetadataNotFound) if target.walked => {
            Ok(Done::Skipped("not sealed".into()))
        }
        Err(e) => Err(Error::sops(path, e)),
    }
}

fn read_stamped(path: &Path) -> Result<(Zeroizing<Vec<u8>>, fsio::Stamp), Error> {
    let (bytes, stamp) = fsio::read_stamped(path, Cap::Manifest)?;
    Ok((Zeroizing::new(bytes), stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::sops::{KeyGroups, Recipient};

    fn plan() -> (Plan, Vec<Identity>) {
        let id = age::x25519::Identity::generate();
        let recipient = Recipient::parse(&id.to_public().to_string()).unwrap();
        let plan = Plan::sealed_to(KeyGroups::single(vec![recipient]).unwrap());
        (plan, vec![Box::new(id)])
    }

    #[test]
    fn a_secret_in_a_list_gets_the_secret_rule() {
        let (plan, ids) = plan();
        let list = "apiVersion: v1\nkind: List\nitems:\n    - apiVersion: v1\n      kind: Secret\n      metadata:\n        name: a\n      stringData:\n        token: hunter2\n";
        let sealed = seal_bytes(list.as_bytes(), Format::Yaml, &plan, &SystemClock)
            .unwrap()
            .unwrap();
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert!(
            text.contains("encrypted_regex: ^(data|stringData)$"),
            "{text}"
        );
        assert!(!text.contains("hunter2"));
        assert!(text.contains("kind: List"), "structure stays readable");
        let opened = sops::decrypt(&sealed, Format::Yaml, &ids, MacCheck::Verify).unwrap();
        assert!(String::from_utf8_lossy(opened.expose_secret()).contains("hunter2"));
        assert!(
            seal_bytes(&sealed, Format::Yaml, &plan, &SystemClock)
                .unwrap()
                .is_none()
        );
    }

    /// [`seal_in_place`] as a batch of one, which must not fail after the
    /// file was handed over.
    fn seal_one(path: &Path, plan: &Plan) -> Result<Done, Error> {
        let (done, failures) =
            fsio::Batch::run(1, |writes| seal_in_place(path, plan, &SystemClock, writes));
        assert!(failures.is_empty(), "{failures:?}");
        done
    }

    #[test]
    fn a_cleartext_with_another_name_is_refused_and_a_sealed_one_left_alone() {
        let (plan, _) = plan();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.yaml");
        let other = dir.path().join("backup.yaml");
        std::fs::write(&path, "password: hunter2\n").unwrap();
        std::fs::hard_link(&path, &other).unwrap();
        let err = seal_one(&path, &plan).unwrap_err();
        assert!(matches!(&err, Error::HardLinked { links: 2, .. }), "{err}");
        assert_eq!(err.class(), crate::class::Class::Refused);
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(std::fs::read(&other).unwrap(), b"password: hunter2\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"password: hunter2\n");

        // Sealed under one name, then linked: nothing left to refuse.
        std::fs::remove_file(&other).unwrap();
        assert!(matches!(
            seal_one(&path, &plan).unwrap(),
            Done::Changed(fsio::Written {
                old_content_links: 0,
                ..
            })
        ));
        std::fs::hard_link(&path, &other).unwrap();
        assert_eq!(seal_one(&path, &plan).unwrap(), Done::Unchanged);
    }

    #[test]
    fn a_file_changed_while_sealing_is_not_replaced() {
        let (plan, _) = plan();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.yaml");
        std::fs::write(&path, "a: 1\n").unwrap();
        let (bytes, stamp) = fsio::read_stamped(&path, Cap::Manifest).unwrap();
        std::fs::write(&path, "a: 2\n").unwrap();
        let sealed = seal_bytes(&bytes, Format::Yaml, &plan, &SystemClock)
            .unwrap()
            .unwrap();
        let err = fsio::replace_if_unchanged(&path, &sealed, stamp).unwrap_err();
        assert!(
            matches!(err, fsio::FsError::ChangedSinceRead { .. }),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"a: 2\n");
        assert!(matches!(seal_one(&path, &plan).unwrap(), Done::Changed(_)));
        assert_eq!(seal_one(&path, &plan).unwrap(), Done::Unchanged);
    }
}
