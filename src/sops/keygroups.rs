//! The data key and the master keys that protect it (sops: `sops.go`
//! `GenerateDataKey`, `UpdateMasterKeysWithKeyServices`,
//! `GetDataKeyWithKeyServices`; `age/keysource.go`; `shamir/shamir.go`).
//!
//! With one key group every master key encrypts the 32-byte data key itself.
//! With two or more, the data key is split with Shamir over GF(2^8) (the
//! crate's own engine in `crate::shares::shamir`, which uses sops' field and
//! share layout: y bytes then the x byte, x = i + 1 for group i), and every
//! master key of group i encrypts share i.
//!
//! Only age master keys can be used here; other types are carried verbatim.
//! Age plugin recipients and identities (hardware tokens) work as sops 3.10
//! and later use them, through `crate::plugin`.

use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use super::Error;
use super::cipher::DATA_KEY_LEN;
use super::metadata::{AgeEntry, KeyGroup, Metadata};
use super::recipient::{KeyGroups, Recipient};
use crate::secret::SecretBytes;
use crate::shares::shamir::{self, ShamirError, ShamirShare, Threshold};

pub use crate::identity::Identity;

/// 32 bytes from the OS CSPRNG; nothing is derived from them.
pub fn generate_data_key() -> SecretBytes {
    SecretBytes::random(DATA_KEY_LEN)
}

/// Encrypts `secret` to one recipient as an armored age file, the form sops
/// stores in `enc` (one age file per recipient).
fn wrap(secret: &SecretBytes, recipient: &dyn age::Recipient) -> Result<String, Error> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient)).map_err(|e| {
        crate::plugin::in_encrypt_error(&e)
            .cloned()
            .map_or(Error::KeyWrap, Error::Plugin)
    })?;
    let mut out = Vec::new();
    let armored =
        ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|_| Error::KeyWrap)?;
    let mut w = encryptor.wrap_output(armored).map_err(|_| Error::KeyWrap)?;
    w.write_all(secret.expose_secret())
        .map_err(|_| Error::KeyWrap)?;
    w.finish()
        .and_then(|armor| armor.finish())
        .map_err(|_| Error::KeyWrap)?;
    String::from_utf8(out).map_err(|_| Error::KeyWrap)
}

/// Opens one `enc` entry with the first of `identities` that can: which
/// one, and what it holds. A plugin that failed is noted in `failed` (the
/// last one wins), so that a file no identity opens can say why.
///
/// Each identity is tried by itself, in order, so that the caller knows
/// which one opened it; and as age does when given them all at once, the
/// first one that fails on the entry (a malformed stanza, a passphrase not
/// given, a plugin's error), rather than finding it is not for it, ends
/// the trying.
fn unwrap_entry(
    enc: &str,
    identities: &[Identity],
    failed: &mut Option<crate::plugin::PluginError>,
) -> Option<(usize, SecretBytes)> {
    for (index, identity) in identities.iter().enumerate() {
        match unwrap_with(enc, identity.as_ref(), failed) {
            Unwrapped::Opened(secret) => return Some((index, secret)),
            Unwrapped::NotFor => continue,
            Unwrapped::Failed => return None,
        }
    }
    None
}

/// What one identity made of one entry.
enum Unwrapped {
    Opened(SecretBytes),
    /// None of its stanzas is for this identity.
    NotFor,
    /// The entry, or the identity, failed.
    Failed,
}

fn unwrap_with(
    enc: &str,
    identity: &dyn age::Identity,
    failed: &mut Option<crate::plugin::PluginError>,
) -> Unwrapped {
    // Buffered: `Decryptor::new` reads the header a few bytes at a time
    // and parses it again after each read, which cost more than the
    // parse of the whole sops file around it.
    let Ok(decryptor) = age::Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes())) else {
        return Unwrapped::Failed;
    };
    let mut reader = match decryptor.decrypt(std::iter::once(identity)) {
        Ok(reader) => reader,
        Err(age::DecryptError::NoMatchingKeys) => return Unwrapped::NotFor,
        Err(e) => {
            if let Some(plugin) = crate::plugin::in_decrypt_error(&e) {
                *failed = Some(plugin.clone());
            }
            return Unwrapped::Failed;
        }
    };
    // Sized for the data key (or a Shamir share of it) up front, so that
    // no reallocation leaves an unwiped copy behind.
    let mut plain = Zeroizing::new(Vec::with_capacity(64));
    if reader.read_to_end(&mut plain).is_err() {
        return Unwrapped::Failed;
    }
    Unwrapped::Opened(SecretBytes::from_slice(&plain))
}

/// Whether the age file `enc` has exactly one recipient stanza (grease
/// aside): one that opened to its recipient is then sealed to nobody else.
pub(super) fn has_one_stanza(enc: &str) -> bool {
    let mut header = Vec::new();
    // A header of one stanza is a few hundred bytes; more is not one.
    let read = ArmoredReader::new(enc.as_bytes())
        .take(4096)
        .read_to_end(&mut header);
    if read.is_err() {
        return false;
    }
    let Some(end) = header.windows(4).position(|w| w == b"\n---") else {
        return false;
    };
    let Some(stanzas) = header.get(..end) else {
        return false;
    };
    // age writes grease stanzas (a tag ending in `-grease`) that seal
    // nothing, so that readers do not come to expect one stanza.
    let sealing = |line: &&[u8]| {
        line.strip_prefix(b"-> ").is_some_and(|rest| {
            let tag = rest.split(|&b| b == b' ').next().unwrap_or_default();
            !tag.ends_with(b"-grease")
        })
    };
    stanzas.split(|&b| b == b'\n').filter(sealing).count() == 1
}

/// Seals `data_key` to `groups`: with one group every recipient gets the
/// data key itself; with several, each group gets one Shamir share of it.
/// Returns the groups and the `shamir_threshold` to record.
pub fn seal_data_key(
    data_key: &SecretBytes,
    groups: &KeyGroups,
) -> Result<(Vec<KeyGroup>, usize), Error> {
    seal_data_key_keeping(data_key, groups, None)
}

/// [`seal_data_key`], keeping `proven` for its own recipient instead of
/// wrapping the data key to it again, when the groups are a single one
/// (several get new shares, so nothing can be kept). `proven` must be an
/// entry known to hold `data_key` for that recipient: one that recipient's
/// own identity has just opened.
pub fn seal_data_key_keeping(
    data_key: &SecretBytes,
    groups: &KeyGroups,
    proven: Option<&AgeEntry>,
) -> Result<(Vec<KeyGroup>, usize), Error> {
    if let [only] = groups.groups() {
        let entries = seal_for_group(data_key, only, proven)?;
        return Ok((
            vec![KeyGroup {
                age: entries,
                ..KeyGroup::default()
            }],
            0,
        ));
    }
    let t = Threshold::new(groups.threshold(), groups.groups().len())?;
    // Sequential x = i + 1, as sops has written since 3.10. `KeyGroups`
    // already refused more than 255 groups, so every x fits a byte.
    let xs: Vec<u8> = (1..=t.n())
        .map(|x| u8::try_from(x).map_err(|_| ShamirError::TooManyShares { n: t.n() }))
        .collect::<Result<_, _>>()?;
    let shares = shamir::split_at(data_key, t, &xs, &mut rand::rngs::OsRng)?;
    let mut out = Vec::with_capacity(groups.groups().len());
    for (recipients, share) in groups.groups().iter().zip(shares.iter()) {
        let bytes = share.to_vault_bytes();
        out.push(KeyGroup {
            age: seal_for_group(&bytes, recipients, None)?,
            ..KeyGroup::default()
        });
    }
    Ok((out, groups.recorded_threshold()))
}

fn seal_for_group(
    secret: &SecretBytes,
    recipients: &[Recipient],
    proven: Option<&AgeEntry>,
) -> Result<Vec<AgeEntry>, Error> {
    recipients
        .iter()
        .map(|r| match proven {
            Some(entry) if entry.recipient == r.as_str() => Ok(entry.clone()),
            _ => Ok(AgeEntry {
                recipient: r.as_str().to_owned(),
                enc: wrap(secret, r.to_age()?.as_ref())?,
            }),
        })
        .collect()
}

/// The first entry of `group` that one of `identities` opens: which entry
/// and which identity, and what it holds.
fn open_group(
    group: &KeyGroup,
    identities: &[Identity],
    failed: &mut Option<crate::plugin::PluginError>,
) -> Option<(OpenedBy, SecretBytes)> {
    group.age.iter().enumerate().find_map(|(entry, age)| {
        let (identity, secret) = unwrap_entry(&age.enc, identities, failed)?;
        Some((OpenedBy { entry, identity }, secret))
    })
}

/// Which entry of a single-group file gave the data key, and which
/// identity opened it (indexes into the group's entries and the identities
/// given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenedBy {
    /// The entry's index in the group.
    pub entry: usize,
    /// The identity's index.
    pub identity: usize,
}

/// Recovers the data key (sops `GetDataKeyWithKeyServices`): the first age
/// entry that opens wins within a group; with several groups every group
/// that opens contributes its share, and at least `shamir_threshold` must.
/// When too little opens and a plugin failed on the way, that failure is
/// the error: it says what to do (the PIN, the token, the program).
///
/// With a single group, also which entry and identity opened it.
pub fn open_data_key(
    meta: &Metadata,
    identities: &[Identity],
) -> Result<(SecretBytes, Option<OpenedBy>), Error> {
    let mut failed = None;
    let or_plugin = |failed: Option<crate::plugin::PluginError>, error: Error| match failed {
        Some(plugin) => Error::Plugin(plugin),
        None => error,
    };
    let (key, opened_entry) = match meta.key_groups.as_slice() {
        [] => return Err(Error::NoKeys),
        [single] => match open_group(single, identities, &mut failed) {
            Some((by, key)) => (key, Some(by)),
            None => return Err(or_plugin(failed, Error::NoIdentityOpened)),
        },
        groups => {
            let mut shares = Vec::new();
            let mut failed_groups = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                match open_group(group, identities, &mut failed) {
                    Some((_, bytes)) => shares.push(
                        ShamirShare::from_vault_bytes(bytes.expose_secret())
                            .map_err(|_| Error::InvalidShare { group: g })?,
                    ),
                    None => failed_groups.push(g),
                }
            }
            let threshold = if meta.shamir_threshold == 0 {
                groups.len()
            } else {
                meta.shamir_threshold
            };
            if shares.len() < threshold || shares.len() < 2 {
                return Err(or_plugin(
                    failed,
                    Error::NotEnoughKeyGroups {
                        recovered: shares.len(),
                        threshold,
                        failed_groups,
                    },
                ));
            }
            // Use every recovered share, as sops does; combine checks that
            // the x coordinates are distinct and never assumes x = i + 1.
            (shamir::combine(&shares)?, None)
        }
    };
    if key.len() != DATA_KEY_LEN {
        return Err(Error::DataKeyLength { len: key.len() });
    }
    Ok((key, opened_entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> (Vec<Identity>, Recipient) {
        let id = age::x25519::Identity::generate();
        let recipient = Recipient::parse(&id.to_public().to_string()).unwrap();
        (vec![Box::new(id)], recipient)
    }

    fn meta(groups: Vec<KeyGroup>, threshold: usize) -> Metadata {
        Metadata {
            key_groups: groups,
            shamir_threshold: threshold,
            lastmodified: String::new(),
            mac: String::new(),
            rule: None,
            mac_only_encrypted: false,
            version: String::new(),
        }
    }

    #[test]
    fn an_age_file_for_two_recipients_is_not_one_stanza() {
        let key = generate_data_key();
        let (_, a) = identity();
        let (_, b) = identity();
        let one = wrap(&key, a.to_age().unwrap().as_ref()).unwrap();
        assert!(has_one_stanza(&one));
        let (ra, rb) = (a.to_age().unwrap(), b.to_age().unwrap());
        let both: [&dyn age::Recipient; 2] = [ra.as_ref(), rb.as_ref()];
        let encryptor = age::Encryptor::with_recipients(both.into_iter()).unwrap();
        let mut out = Vec::new();
        let armored = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).unwrap();
        let mut w = encryptor.wrap_output(armored).unwrap();
        w.write_all(key.expose_secret()).unwrap();
        w.finish().and_then(|armor| armor.finish()).unwrap();
        assert!(!has_one_stanza(&String::from_utf8(out).unwrap()));
        assert!(!has_one_stanza("not an age file"));
        assert!(!has_one_stanza(""));
    }

    #[test]
    fn single_group_wraps_the_raw_data_key_as_armored_age() {
        let (ids, r) = identity();
        let key = generate_data_key();
        let (groups, threshold) =
            seal_data_key(&key, &KeyGroups::single(vec![r.clone()]).unwrap()).unwrap();
        assert_eq!(threshold, 0);
        let enc = &groups[0].age[0].enc;
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        let (opened, entry) = open_data_key(&meta(groups.clone(), 0), &ids).unwrap();
        assert!(opened.ct_eq(&key));
        assert_eq!(
            entry,
            Some(OpenedBy {
                entry: 0,
                identity: 0
            }),
            "the one entry, by the one identity"
        );
        let (other, _) = identity();
        assert!(matches!(
            open_data_key(&meta(groups, 0), &other),
            Err(Error::NoIdentityOpened)
        ));
    }

    #[test]
    fn groups_carry_shares_with_sequential_x() {
        let (a, ra) = identity();
        let (b, rb) = identity();
        let key = generate_data_key();
        let (groups, threshold) =
            seal_data_key(&key, &KeyGroups::new(vec![vec![ra], vec![rb]], 0).unwrap()).unwrap();
        assert_eq!(threshold, 2, "0 means every group");
        for (i, (g, ids)) in groups.iter().zip([&a, &b]).enumerate() {
            let (_, share) = unwrap_entry(&g.age[0].enc, ids, &mut None).unwrap();
            assert!(has_one_stanza(&g.age[0].enc));
            assert_eq!(share.len(), 33);
            assert_eq!(share.expose_secret()[32], i as u8 + 1);
        }
        let both: Vec<Identity> = a.into_iter().chain(b).collect();
        let (opened, entry) = open_data_key(&meta(groups.clone(), 2), &both).unwrap();
        assert!(opened.ct_eq(&key));
        assert_eq!(entry, None, "shares from several groups");
        let only_a: Vec<Identity> = both.into_iter().take(1).collect();
        assert!(matches!(
            open_data_key(&meta(groups, 2), &only_a),
            Err(Error::NotEnoughKeyGroups {
                recovered: 1,
                threshold: 2,
                ..
            })
        ));
    }
}
