//! `ceremony::kube::objects` over a parsed YAML or JSON tree (first byte
//! picks), with the handover's `items::secret_documents` on the same tree.
#![no_main]
use ceremony::handover::items;
use ceremony::kube;
use ceremony::sops::{self, Format};
use ceremony_fuzz::secret_values;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = ceremony_fuzz::select(data, 2) else {
        return;
    };
    let format = [Format::Yaml, Format::Json][which];
    let Ok(branches) = sops::parse_plain(rest, format) else {
        return;
    };
    let objects = kube::objects(&branches);
    let secrets = secret_values(&branches, rest);
    assert_eq!(
        kube::holds_secret(&branches),
        objects.iter().any(kube::Object::is_secret)
    );
    let mut documents_seen = 0;
    for object in &objects {
        assert!(object.location.document < branches.len());
        if object.location.items.is_empty() {
            // Each document is listed once, in order, before its items.
            assert_eq!(object.location.document, documents_seen);
            documents_seen += 1;
        }
        assert_eq!(object.kind, kube::classify(object.fields));
        let described = object.describe(branches.len());
        secrets.assert_hidden_in("describe", &described);
        let _ = object.name();
        for (key, _) in object.fields.entries() {
            assert!(
                object.fields.get(key).is_some(),
                "an entry that get() cannot find"
            );
        }
    }
    assert_eq!(documents_seen, branches.len());
    match items::secret_documents(&branches) {
        Ok(docs) => {
            assert!(docs.len() <= objects.iter().filter(|o| o.is_secret()).count());
            for doc in docs {
                for (item, _) in &doc.entries {
                    assert_eq!(item.secret, doc.secret);
                    let _ = item.id();
                }
            }
        }
        Err(e) => secrets.assert_hidden_in("secret_documents", &format!("{e} {e:?}")),
    }
});
