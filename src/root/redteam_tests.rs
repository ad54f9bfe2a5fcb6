//! Red-team tests of root versions (day-N rotation). Each test asserts the
//! behaviour the documentation promises; the ones that fail today are
//! marked `#[ignore = "finding: …"]` so the branch stays green. Run them
//! with `cargo test --lib root::redteam_tests -- --include-ignored`.

use std::collections::{BTreeMap, BTreeSet};

use age::secrecy::ExposeSecret;

use super::dir::{Replace, Target};
use super::lineage::{Version, check_link};
use super::rotate::{ChangePlan, NextVersion, next_version};
use super::{
    Bundle, InitPlan, Lineage, RootBody, RootDir, RootManifest, RootSecret, SigningSeed,
    Thresholds, VerifyOptions, init, open_bundles, rebuild, verify_dir,
};
use crate::clock::SystemClock;
use crate::identity::Identity;
use crate::preflight::AirGapped;
use crate::shares::Custodians;
use crate::shares::custodians::RecipientDescription;

struct Fixture {
    custodians: Custodians,
    identities: Vec<Identity>,
}

fn fixture() -> Fixture {
    let keys: Vec<age::x25519::Identity> =
        (0..3).map(|_| age::x25519::Identity::generate()).collect();
    let mut text = String::from("[threshold]\nbootstrap = 2\nunseal = 2\nsigning = 2\n");
    for (i, key) in keys.iter().enumerate() {
        text.push_str(&format!(
            "[[custodian]]\nname = \"c{i}\"\nage = \"{}\"\n",
            key.to_public()
        ));
    }
    let identities = keys.iter().map(|k| identity_of(k)).collect();
    Fixture {
        custodians: Custodians::parse(&text).unwrap(),
        identities,
    }
}

fn identity_of(key: &age::x25519::Identity) -> Identity {
    Box::new(
        key.to_string()
            .expose_secret()
            .parse::<age::x25519::Identity>()
            .unwrap(),
    )
}

struct Root {
    dir: RootDir,
    files: Vec<(String, Vec<u8>)>,
    tmp: tempfile::TempDir,
}

fn new_root(f: &Fixture) -> Root {
    let plan = InitPlan {
        thresholds: Thresholds::resolve(&f.custodians, None).unwrap(),
        unseal_key_id: None,
        replaces: None,
    };
    let out = init(
        &f.custodians,
        &plan,
        &BTreeMap::new(),
        &AirGapped::for_tests(),
        &SystemClock,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("root");
    let dir = Target::check(&path, Replace::Never, &SystemClock)
        .unwrap()
        .0
        .write(&out)
        .unwrap()
        .0;
    Root {
        dir,
        files: out.bundles,
        tmp,
    }
}

fn opened(files: &[(String, Vec<u8>)], ids: &[Identity]) -> Vec<(String, Bundle)> {
    open_bundles(files, ids, &|_| None).unwrap().opened
}

fn next(root: &Root, f: &Fixture, plan: &ChangePlan) -> NextVersion {
    next_version(
        &root.dir,
        &opened(&root.files, &f.identities),
        plan,
        &BTreeMap::new(),
        &AirGapped::for_tests(),
        &SystemClock,
    )
    .unwrap()
}

fn rotating(which: RootSecret) -> ChangePlan {
    ChangePlan {
        rotate: BTreeSet::from([which]),
        ..ChangePlan::default()
    }
}

fn signing_key(
    body: &RootBody,
    files: &[(String, Vec<u8>)],
    f: &Fixture,
) -> ed25519_dalek::SigningKey {
    let seed: SigningSeed =
        rebuild(body, &opened(files, &f.identities), &AirGapped::for_tests()).unwrap();
    seed.signing_key()
}

fn stranger_recipient() -> RecipientDescription {
    RecipientDescription::Age {
        recipient: age::x25519::Identity::generate().to_public().to_string(),
    }
}

/// Finding: check_link compares custodians (names and keys) only in the
/// *first* share set, and check_structure compares only the *names* of
/// the other sets with custodian_files. A version whose signing-key (or
/// unseal-key, previous-…) set records another key for a custodian passes
/// every check without declaring `reshare`.
#[test]
fn rt_custodian_key_swapped_in_a_later_share_set_is_refused() {
    let f = fixture();
    let v1 = new_root(&f);
    let key = signing_key(&v1.dir.manifest().body, &v1.files, &f);
    let first = v1.dir.lineage().current().clone();
    let mut nv = next(&v1, &f, &rotating(RootSecret::Unseal));
    let mut body = nv.manifest.body.clone();
    let signing = body
        .share_sets
        .iter_mut()
        .find(|s| s.label == "signing-key")
        .unwrap();
    signing.custodians[1].recipient = stranger_recipient();
    assert_eq!(
        body.lineage.as_ref().unwrap().changes,
        vec![super::Change::RotateUnsealKey],
        "only the unseal key is declared"
    );
    nv.manifest = body.sign(&key, None);
    let forged = Version::parse("root.json", &nv.manifest.to_json()).unwrap();

    let link = check_link(&first, &forged);
    assert!(
        link.is_err(),
        "a custodian's key changed in the signing-key set without `reshare` passed check_link"
    );
    // Nor can it be written: the root stays at version 1.
    assert!(v1.dir.advance(&nv).is_err());
    let (_, report) = verify_dir(v1.dir.path(), VerifyOptions::default());
    assert!(report.passed(), "{report:?}");
}

/// Finding: the custody check of check_link reads `share_sets.first()`,
/// while `root rotate`/`reshare` carries the custodians over from the
/// set *labelled* bootstrap-key (`custodians_for`), and RootDir::load
/// (every command but `root verify`) never checks the order of the sets.
/// A signed version that puts the unseal-key set first and records an
/// attacker's key for c1 in the bootstrap-key set is accepted by load;
/// the next threshold-only `root reshare` then seals c1's new bundle to
/// the attacker.
#[test]
fn rt_reordered_share_sets_cannot_redirect_a_custodians_next_bundle() {
    let f = fixture();
    let v1 = new_root(&f);
    let key = signing_key(&v1.dir.manifest().body, &v1.files, &f);
    let attacker = age::x25519::Identity::generate();

    let mut nv = next(&v1, &f, &rotating(RootSecret::Unseal));
    let mut body = nv.manifest.body.clone();
    // [unseal-key, bootstrap-key, signing-key, previous-unseal-key]
    body.share_sets.swap(0, 1);
    let bootstrap = body
        .share_sets
        .iter_mut()
        .find(|s| s.label == "bootstrap-key")
        .unwrap();
    bootstrap.custodians[1].recipient = RecipientDescription::Age {
        recipient: attacker.to_public().to_string(),
    };
    nv.manifest = body.sign(&key, None);
    let v2_files = nv.bundles.clone();

    // Every command that loads the root accepts it (only `root verify`
    // would flag the order).
    let loaded = v1.dir.advance(&nv);
    let v2 = match loaded {
        Err(_) => return, // refused: the finding is fixed
        Ok(v) => v.root,
    };
    // (`root verify` would flag the order; nothing else looks.)
    let (_, report) = verify_dir(v2.path(), VerifyOptions::default());
    assert!(
        !report.passed(),
        "root verify flags the order of the share sets"
    );

    // A threshold-only reshare (`root reshare --threshold 3`): custodians
    // carried over from the manifest.
    let plan = ChangePlan {
        thresholds: Some(Thresholds {
            bootstrap: crate::shares::Threshold::new(3, 3).unwrap(),
            unseal: crate::shares::Threshold::new(3, 3).unwrap(),
            signing: crate::shares::Threshold::new(3, 3).unwrap(),
        }),
        ..ChangePlan::default()
    };
    let v3 = next_version(
        &v2,
        &opened(&v2_files, &f.identities),
        &plan,
        &BTreeMap::new(),
        &AirGapped::for_tests(),
        &SystemClock,
    );
    let Ok(v3) = v3 else { return };
    let c1_file = v3
        .bundles
        .iter()
        .find(|(file, _)| file == "shares/c1.age")
        .cloned()
        .unwrap();
    let for_attacker = open_bundles(&[c1_file], &[identity_of(&attacker)], &|_| None)
        .unwrap()
        .opened;
    assert!(
        for_attacker.is_empty(),
        "c1's version-3 bundle opens with the attacker's key: the swap that \
         check_link did not see now receives real shares"
    );
}

/// Finding: RootDir::advance re-reads history/*.json from disk when it
/// stages the new directory and never compares them with the versions it
/// verified at load. A history file replaced between load and advance is
/// copied into the new root, the swap happens, and only the reload after
/// the swap fails: the documented "on any failure the root stays as it
/// was" does not hold, and the original bytes of that version are gone.
#[test]
fn rt_history_changed_between_load_and_advance_leaves_the_root_as_it_was() {
    let f = fixture();
    let v1 = new_root(&f);
    let nv2 = next(&v1, &f, &rotating(RootSecret::Unseal));
    let v2dir = v1.dir.advance(&nv2).unwrap().root;
    let v2 = Root {
        dir: v2dir,
        files: nv2.bundles,
        tmp: v1.tmp,
    };
    let nv3 = next(
        &v2,
        &f,
        &super::rotate::ChangePlan {
            retire: BTreeSet::from([RootSecret::Unseal]),
            ..ChangePlan::default()
        },
    );
    let path = v2.dir.path().to_owned();
    let original_v1 = std::fs::read(path.join("history/root.1.json")).unwrap();
    let original_v2 = std::fs::read(path.join("root.json")).unwrap();

    // Meanwhile, someone (or a second ceremony) edits history/root.1.json.
    let mut edited = original_v1.clone();
    edited.extend_from_slice(b" ");
    std::fs::write(path.join("history/root.1.json"), &edited).unwrap();

    let result = v2.dir.advance(&nv3);
    let now_root = std::fs::read(path.join("root.json")).unwrap();
    assert!(
        result.is_ok() || now_root == original_v2,
        "advance failed ({}) but root.json was already replaced by version 3; \
         Lineage::read now says: {:?}",
        result.err().map(|e| e.to_string()).unwrap_or_default(),
        Lineage::read(&path).err().map(|e| e.to_string())
    );
}

/// Finding: RootDir::advance checks "unchanged" and then swaps, with no
/// lock between two writers. Two rotations of the same root that load it
/// at the same time can both pass the check; both return Ok and print
/// their version's SHA-256, and one of them was silently thrown away
/// (its bundles deleted). Stress version: two threads advance the same
/// loaded root with two different next versions, many times.
#[test]
fn rt_two_concurrent_rotations_never_both_succeed() {
    let f = fixture();
    let v1 = new_root(&f);
    let a = next(&v1, &f, &rotating(RootSecret::Unseal));
    let b = next(&v1, &f, &rotating(RootSecret::Bootstrap));
    let path = v1.dir.path().to_owned();
    let pristine = v1.tmp.path().join("pristine");
    copy_dir(&path, &pristine);
    let mut both = 0;
    let rounds = 60;
    for _ in 0..rounds {
        std::fs::remove_dir_all(&path).unwrap();
        copy_dir(&pristine, &path);
        let dir = RootDir::load(&path).unwrap();
        let barrier = std::sync::Barrier::new(2);
        let (ra, rb) = std::thread::scope(|s| {
            let ta = s.spawn(|| {
                barrier.wait();
                dir.advance(&a).map(|_| ())
            });
            let tb = s.spawn(|| {
                barrier.wait();
                dir.advance(&b).map(|_| ())
            });
            (ta.join().unwrap(), tb.join().unwrap())
        });
        if ra.is_ok() && rb.is_ok() {
            both += 1;
        }
    }
    assert_eq!(
        both, 0,
        "in {both} of {rounds} rounds both rotations returned Ok; only one version 2 exists"
    );
}

/// The same window, made deterministic at the primitive advance relies
/// on: a second writer swaps between the first one's `unchanged` check
/// and its exchange. Both return Ok; the second writer's directory is
/// deleted.
#[test]
fn rt_swap_into_place_check_and_exchange_are_not_atomic_against_another_writer() {
    use crate::fsio::{FsError, StagedDir};
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("root");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("root.json"), b"v1").unwrap();
    let is_v1 = || -> Result<(), FsError> {
        if std::fs::read(target.join("root.json")).unwrap() == b"v1" {
            Ok(())
        } else {
            Err(FsError::ChangedSinceRead {
                path: target.join("root.json"),
            })
        }
    };
    let a = StagedDir::beside(&target).unwrap();
    a.add("root.json", b"v2-a", 0o644).unwrap();
    let b = StagedDir::beside(&target).unwrap();
    b.add("root.json", b"v2-b", 0o644).unwrap();
    let mut b = Some(b);
    let mut b_result = None;
    let b_cell = std::cell::RefCell::new((&mut b, &mut b_result));
    let a_result = a.swap_into_place(&|| {
        is_v1()?;
        // B, started at the same time, reaches its own check and swap now.
        let mut cell = b_cell.borrow_mut();
        let staged = cell.0.take().unwrap();
        *cell.1 = Some(staged.swap_into_place(&is_v1).map(|_| ()));
        Ok(())
    });
    let b_result = b_cell.into_inner().1.take().unwrap();
    let content = std::fs::read(target.join("root.json")).unwrap();
    assert!(
        a_result.is_err() || b_result.is_err(),
        "both writers returned Ok; root.json is {:?}: the other version was deleted",
        String::from_utf8_lossy(&content)
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Finding: check_history_names parses the number with `u64::from_str`,
/// which accepts a leading `+`: `history/root.+1.json` is taken for
/// version 1's name and the stray file is silently ignored (the docs: "a
/// stray file fails").
#[test]
fn rt_a_history_name_with_a_plus_sign_is_a_stray_file() {
    let f = fixture();
    let v1 = new_root(&f);
    let nv = next(&v1, &f, &rotating(RootSecret::Unseal));
    let v2 = v1.dir.advance(&nv).unwrap().root;
    std::fs::write(v2.path().join("history/root.+1.json"), b"anything at all").unwrap();
    assert!(
        Lineage::read(v2.path()).is_err(),
        "history/root.+1.json (not a version file) was ignored"
    );
}

/// Sound: a v2 manifest relabelled v1 (downgrade) no longer parses or
/// verifies, and a v1 carrying lineage fields is refused.
#[test]
fn rt_sound_format_downgrade_and_v1_with_lineage_are_refused() {
    let f = fixture();
    let v1 = new_root(&f);
    let key = signing_key(&v1.dir.manifest().body, &v1.files, &f);
    let nv = next(&v1, &f, &rotating(RootSecret::Unseal));
    let mut body = nv.manifest.body.clone();
    body.format = super::manifest::ROOT_FORMAT_V1.into();
    assert!(RootManifest::from_json(&body.clone().sign(&key, None).to_json()).is_err());
    // The same JSON with the format string edited and the old signature.
    let text = String::from_utf8(nv.manifest.to_json()).unwrap();
    let edited = text.replacen("ceremony.root.v2", "ceremony.root.v1", 1);
    assert!(RootManifest::from_json(edited.as_bytes()).is_err());
}

/// Sound: duplicate keys, escapes, number forms and reordered fields are
/// all caught by the canonical-form check.
#[test]
fn rt_sound_canonical_form_tricks_are_refused() {
    let f = fixture();
    let v1 = new_root(&f);
    let bytes = std::fs::read(v1.dir.path().join("root.json")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(RootManifest::from_json(&bytes).is_ok());
    let root_id = &v1.dir.manifest().body.root_id;
    let variants = [
        // A duplicate key, first value different, last the real one.
        text.replacen(
            &format!("\"root_id\": \"{root_id}\""),
            &format!(
                "\"root_id\": \"{}\",\n  \"root_id\": \"{root_id}\"",
                "0".repeat(32)
            ),
            1,
        ),
        // A JSON escape for a plain character.
        text.replacen("\"format\": \"ceremony", "\"format\": \"\\u0063eremony", 1),
        // Another number form.
        text.replacen("\"threshold\": 2", "\"threshold\": 2.0", 1),
        text.replacen("\"threshold\": 2", "\"threshold\": 2e0", 1),
        // Compact instead of pretty.
        String::from_utf8(
            serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&bytes).unwrap())
                .unwrap(),
        )
        .unwrap()
            + "\n",
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(v.as_bytes(), bytes.as_slice(), "variant {i} is a real edit");
        assert!(
            RootManifest::from_json(v.as_bytes()).is_err(),
            "variant {i} accepted"
        );
    }
}

/// Finding (low): the note is refused only for `char::is_control` (Cc);
/// Unicode format characters such as U+202E RIGHT-TO-LEFT OVERRIDE pass,
/// and `root show` prints them raw on the line that ends with the
/// version's SHA-256, which a witness reads off the screen.
#[test]
fn rt_a_note_with_a_bidi_override_is_refused() {
    let f = fixture();
    let v1 = new_root(&f);
    let plan = ChangePlan {
        note: Some("routine\u{202E}".into()),
        ..rotating(RootSecret::Unseal)
    };
    assert!(
        plan.changes(&v1.dir.manifest().body).is_err(),
        "a note with U+202E was accepted"
    );
}

/// Finding (low): "a new unseal key has a new key id" is checked against
/// the version before only. A key id used by an earlier, retired unseal
/// key can name a new, different key two versions later.
#[test]
fn rt_an_unseal_key_id_is_never_reused_for_another_key() {
    let f = fixture();
    let v1 = new_root(&f);
    let first_id = v1.dir.manifest().body.unseal.key_id.clone();
    let step = |root: Root, plan: ChangePlan| -> Result<Root, super::Error> {
        let nv = next_version(
            &root.dir,
            &opened(&root.files, &f.identities),
            &plan,
            &BTreeMap::new(),
            &AirGapped::for_tests(),
            &SystemClock,
        )?;
        let dir = root.dir.advance(&nv)?.root;
        Ok(Root {
            dir,
            files: nv.bundles,
            tmp: root.tmp,
        })
    };
    let v2 = step(
        v1,
        ChangePlan {
            unseal_key_id: Some(crate::shares::KeyId::parse("second").unwrap()),
            ..rotating(RootSecret::Unseal)
        },
    )
    .unwrap();
    let v3 = step(
        v2,
        ChangePlan {
            retire: BTreeSet::from([RootSecret::Unseal]),
            ..ChangePlan::default()
        },
    )
    .unwrap();
    let v4 = step(
        v3,
        ChangePlan {
            unseal_key_id: Some(crate::shares::KeyId::parse(&first_id).unwrap()),
            ..rotating(RootSecret::Unseal)
        },
    );
    assert!(
        v4.is_err(),
        "version 4 names a new unseal key {first_id:?}, the id of version 1's key"
    );
}

/// Sound: a bundle that says `root_version: 1` explicitly, or 0, is
/// refused; a bundle of another version than the current is stale.
#[test]
fn rt_sound_bundle_version_games_are_refused() {
    let f = fixture();
    let v1 = new_root(&f);
    let bundle = opened(&v1.files, &f.identities).remove(0).1;
    let json = String::from_utf8(bundle.to_json().unwrap().to_vec()).unwrap();
    assert!(!json.contains("root_version"));
    for v in ["0", "1"] {
        let edited = json.replacen(
            "\"custodian\"",
            &format!("\"root_version\": {v},\n  \"custodian\""),
            1,
        );
        assert!(
            Bundle::from_json(edited.as_bytes()).is_err(),
            "root_version {v}"
        );
    }
    let nv = next(&v1, &f, &rotating(RootSecret::Unseal));
    let v2 = v1.dir.advance(&nv).unwrap().root;
    let stale = rebuild::<SigningSeed>(
        &v2.manifest().body,
        &opened(&v1.files, &f.identities),
        &AirGapped::for_tests(),
    );
    assert!(matches!(stale, Err(super::Error::StaleBundle { .. })));
}

/// A bootstrap recipient of small order (which no key protects) fails the
/// manifest's structure check, as it would fail sealing.
#[test]
fn rt_a_bootstrap_recipient_of_small_order_fails_the_structure_check() {
    use bech32::ToBase32;
    let f = fixture();
    let v1 = new_root(&f);
    let mut body = v1.dir.manifest().body.clone();
    let mut report = crate::report::Report::new();
    super::check_structure(&body, &mut report);
    assert!(report.passed(), "{report:?}");
    body.bootstrap_recipient =
        bech32::encode("age", [0u8; 32].to_base32(), bech32::Variant::Bech32).unwrap();
    let mut report = crate::report::Report::new();
    super::check_structure(&body, &mut report);
    let failed: Vec<&str> = report.failures().map(|c| c.check.as_ref()).collect();
    assert_eq!(failed, ["bootstrap recipient"], "{report:?}");
}
