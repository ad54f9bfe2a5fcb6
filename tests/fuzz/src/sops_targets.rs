//! The SOPS engine targets, one function per kind, each called by one thin
//! target per format.

use ceremony::sops::tree::Branch;
use ceremony::sops::{self, CryptRule, Error, Format, MacCheck};

use crate::{
    CANARY, Leaves, assert_debug_redacts_values, assert_sops_error_hides_values, clock,
    comments_in_order, encrypt_options, identities, same_trees, without_comments,
};

/// The formats, in the order a selector byte picks them.
pub const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

/// `parse_plain`: the store's reader on a plaintext file.
///
/// Holds: parsing is deterministic; `Debug` of the tree and every error hide
/// the values; the leaf walk (`inspect_plain`) accepts every tree the
/// reader gives.
pub fn plain(format: Format, data: &[u8]) {
    match sops::parse_plain(data, format) {
        Ok(branches) => {
            let again = sops::parse_plain(data, format).expect("a second parse of the same bytes");
            if let Some(d) = same_trees(&branches, &again, Leaves::Exact) {
                panic!("parse_plain is not deterministic: {d}");
            }
            assert_debug_redacts_values("parse_plain", &branches);
            match sops::inspect_plain(&branches, &CryptRule::default()) {
                Ok(leaves) => assert!(leaves.iter().all(|l| !l.encrypted)),
                Err(e) => assert_sops_error_hides_values("inspect_plain", &e, data),
            }
        }
        Err(e) => {
            assert_sops_error_hides_values("parse_plain", &e, data);
        }
    }
}

/// `encrypt` then `inspect`, `decrypt` and `parse_plain` again, to `R1` with
/// the test identity.
///
/// Holds: whatever the reader accepts either encrypts or fails with an error
/// that hides the values; an encrypted file inspects with every leaf the rule
/// selects encrypted, decrypts with its MAC checked, and reads back as the
/// same tree (up to the number forms sops itself rewrites).
pub fn roundtrip(format: Format, data: &[u8]) {
    let Ok(original) = sops::parse_plain(data, format) else {
        return;
    };
    let mut branches = original.clone();
    let sealed = match sops::encrypt_tree(&mut branches, format, &encrypt_options(), &clock()) {
        Ok(sealed) => sealed,
        Err(e) => {
            assert_sops_error_hides_values("encrypt_tree", &e, data);
            return;
        }
    };
    if data.len() >= CANARY.len() && format != Format::Binary {
        // The default rule encrypts everything but `_unencrypted` keys and
        // comments are encrypted too, so a canary can only survive in a key.
        let mut in_keys = 0;
        crate::each_key(&original, &mut |k| in_keys += k.matches(CANARY).count());
        let shown = String::from_utf8_lossy(&sealed).matches(CANARY).count();
        let unencrypted = String::from_utf8_lossy(data).contains("_unencrypted");
        assert!(
            unencrypted || shown <= in_keys,
            "a value is in clear in the encrypted file"
        );
    }
    let inspection = sops::inspect(&sealed, format)
        .unwrap_or_else(|e| panic!("inspect of a file encrypt_tree wrote: {e}"));
    for leaf in &inspection.leaves {
        assert!(!leaf.malformed, "encrypt_tree wrote a malformed ENC value");
        // sops never encrypts empty values or nulls.
        if leaf.rule_says_encrypted && !leaf.empty && leaf.value_type != "null" {
            assert!(
                leaf.encrypted,
                "encrypt_tree left a leaf the rule selects in clear: {:?}",
                leaf.path
            );
        }
    }
    let plain = sops::decrypt(&sealed, format, identities(), MacCheck::Verify)
        .unwrap_or_else(|e| panic!("decrypt of a file encrypt_tree wrote: {e}"));
    let reread = sops::parse_plain(plain.expose_secret(), format)
        .unwrap_or_else(|e| panic!("parse_plain of what decrypt wrote: {e}"));
    let leaves = match format {
        Format::Ini => Leaves::AsGoIniWrites,
        _ => Leaves::AsSopsWrites,
    };
    if let Some(d) = same_trees(&original, &reread, leaves) {
        // A YAML comment at the start of a collection nested in a list is
        // that collection's head comment, which go-yaml writes before the
        // item's dash (or after the parent's), where reading it back puts
        // it one list further out (sops moves it so too). Allowed when
        // nothing else differs, the comments keep their order, and the
        // text settles: a second round gives what it gave, or a third
        // gives what the second did.
        let moved_only = format == Format::Yaml
            && only_comments_moved(&original, &reread)
            && settles(&original, reread, plain.expose_secret().to_vec());
        assert!(moved_only, "encrypt then decrypt changed the file: {d}");
    }
}

/// Whether `a` and `b` differ in where their comments are, and only there.
fn only_comments_moved(a: &[Branch], b: &[Branch]) -> bool {
    same_trees(
        &without_comments(a),
        &without_comments(b),
        Leaves::AsSopsWrites,
    )
    .is_none()
        && comments_in_order(a) == comments_in_order(b)
}

/// Whether the YAML text `text` of `tree` (read back from it) stays as it
/// is, or settles after one more round, its comments only moving.
fn settles(original: &[Branch], tree: Vec<Branch>, text: Vec<u8>) -> bool {
    let round = |tree: &[Branch]| -> Option<(Vec<Branch>, Vec<u8>)> {
        let mut again = tree.to_vec();
        let sealed =
            sops::encrypt_tree(&mut again, Format::Yaml, &encrypt_options(), &clock()).ok()?;
        let plain = sops::decrypt(&sealed, Format::Yaml, identities(), MacCheck::Verify).ok()?;
        let reread = sops::parse_plain(plain.expose_secret(), Format::Yaml).ok()?;
        Some((reread, plain.expose_secret().to_vec()))
    };
    let Some((second_tree, second)) = round(&tree) else {
        return false;
    };
    if second == text {
        return true;
    }
    only_comments_moved(original, &second_tree)
        && round(&second_tree).is_some_and(|(_, third)| third == second)
}

/// `inspect` and `decrypt` of an encrypted file, with the test identity.
///
/// Holds: errors and `Debug` output hide every plaintext value (the seeds'
/// values carry the canary, which the ciphertext does not show); a file
/// that decrypts also inspects; a file whose only fault is its MAC opens
/// with the MAC check skipped; decrypted output reads back as plaintext.
pub fn encrypted(format: Format, data: &[u8]) {
    // A canary already in the cleartext (a key, an unencrypted value) may be
    // shown; one that only decryption reveals may not.
    let canary_in_clear = String::from_utf8_lossy(data).contains(CANARY);
    let check_error = |what: &str, e: &Error| {
        if !canary_in_clear {
            let text = format!("{e} {e:?}");
            assert!(
                !text.contains(CANARY),
                "{what}: the error shows a value: {e}"
            );
        }
        assert_sops_error_hides_values(what, e, data);
    };
    let inspected = sops::inspect(data, format);
    match &inspected {
        Ok(i) => {
            if !canary_in_clear {
                assert!(!format!("{i:?}").contains(CANARY));
            }
            assert_eq!(i.age_recipients.len(), i.opaque_keys.len());
        }
        Err(e) => check_error("inspect", e),
    }
    match sops::decrypt(data, format, identities(), MacCheck::Verify) {
        Ok(plain) => {
            assert!(inspected.is_ok(), "decrypt accepted a file inspect refuses");
            reread(format, plain.expose_secret());
        }
        Err(e) => {
            check_error("decrypt", &e);
            if matches!(e, Error::MacMismatch) {
                match sops::decrypt(data, format, identities(), MacCheck::Skip) {
                    Ok(plain) => reread(format, plain.expose_secret()),
                    Err(e) => panic!("the MAC was the only fault, yet without it: {e}"),
                }
            } else if let Err(e) = sops::decrypt(data, format, identities(), MacCheck::Skip) {
                check_error("decrypt without MAC", &e);
            }
        }
    }
}

fn reread(format: Format, plain: &[u8]) {
    match sops::parse_plain(plain, format) {
        Ok(branches) => assert_debug_redacts_values("parse_plain of decrypted output", &branches),
        // A cleartext key named like the metadata survives decryption.
        Err(Error::AlreadyEncrypted) => {}
        // A key given twice below the top of a sealed file's first document
        // (or in a later one) opens, as sops opens it, and prints twice; a
        // plaintext with it is refused (sops refuses it in the first).
        Err(Error::DuplicateKey { .. }) => {}
        Err(e) => panic!("what decrypt wrote does not read back: {e}"),
    }
}
