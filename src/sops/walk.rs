//! The depth-first walk shared by encryption, decryption, the MAC and
//! inspection (sops: `sops.go` `walkBranch`/`walkSlice`/`walkValue`), and the
//! two tree transformations built on it.
//!
//! The path passed to a leaf is the list of *mapping keys* from the root:
//! list indices are not part of it, and a comment gets the path of its
//! enclosing mapping. Nulls are skipped entirely.

use super::Error;
use super::cipher::{self, EncryptedValue, Plain, ValueType};
use super::mac::MacHasher;
use super::rules::CryptRule;
use super::tree::{Branch, Item, ListElement, Value};
use crate::secret::SecretBytes;

/// A leaf handed to the walk callback.
pub(crate) enum Leaf {
    /// A scalar value.
    Value(Value),
    /// A comment's text.
    Comment(SecretBytes),
}

/// Where a leaf sits.
pub(crate) struct LeafContext<'a> {
    /// Mapping keys from the root.
    pub path: &'a [String],
    /// Active comment stack (see `rules.rs`).
    pub comments: &'a [Vec<SecretBytes>],
}

pub(crate) type LeafFn<'f> = dyn FnMut(Leaf, &LeafContext<'_>) -> Result<Leaf, Error> + 'f;

struct Walker<'f, 'g> {
    path: Vec<String>,
    stack: Vec<Vec<SecretBytes>>,
    f: &'f mut LeafFn<'g>,
}

/// Walks every branch in order, replacing each leaf with what `f` returns.
pub(crate) fn walk(branches: &mut [Branch], f: &mut LeafFn<'_>) -> Result<(), Error> {
    let mut w = Walker {
        path: Vec::new(),
        stack: Vec::new(),
        f,
    };
    for b in branches {
        w.branch(b)?;
    }
    Ok(())
}

fn path_text(path: &[String]) -> String {
    path.join(":")
}

impl Walker<'_, '_> {
    fn call(&mut self, leaf: Leaf) -> Result<Leaf, Error> {
        let ctx = LeafContext {
            path: &self.path,
            comments: &self.stack,
        };
        (self.f)(leaf, &ctx)
    }

    fn clear_level(&mut self) {
        if let Some(level) = self.stack.last_mut() {
            level.clear();
        }
    }

    fn push_comment(&mut self, text: &SecretBytes) {
        if let Some(level) = self.stack.last_mut() {
            level.push(text.clone());
        }
    }

    fn branch(&mut self, branch: &mut Branch) -> Result<(), Error> {
        self.stack.push(Vec::new());
        for item in branch.items.iter_mut() {
            match item {
                Item::Comment(text) => {
                    self.push_comment(text);
                    let taken = std::mem::replace(text, SecretBytes::new(Vec::new()));
                    *text = match self.call(Leaf::Comment(taken))? {
                        Leaf::Comment(c) => c,
                        // An encrypted comment comes back as a string and is
                        // wrapped back into a comment (sops walkBranch).
                        Leaf::Value(Value::Str(s)) => s,
                        Leaf::Value(_) => {
                            return Err(Error::UnexpectedLeaf {
                                path: path_text(&self.path).into(),
                            });
                        }
                    };
                }
                Item::Entry { key, value } => {
                    self.path.push(key.clone());
                    let r = self.value(value);
                    self.path.pop();
                    r?;
                    self.clear_level();
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn value(&mut self, value: &mut Value) -> Result<(), Error> {
        match value {
            Value::Null => Ok(()),
            Value::Branch(b) => self.branch(b),
            Value::List(l) => self.list(l),
            _ => {
                let taken = std::mem::replace(value, Value::Null);
                match self.call(Leaf::Value(taken))? {
                    Leaf::Value(v) => {
                        *value = v;
                        Ok(())
                    }
                    Leaf::Comment(_) => Err(Error::UnexpectedLeaf {
                        path: path_text(&self.path).into(),
                    }),
                }
            }
        }
    }

    fn list(&mut self, list: &mut [ListElement]) -> Result<(), Error> {
        self.stack.push(Vec::new());
        for element in list.iter_mut() {
            let is_comment = matches!(element, ListElement::Comment(_));
            match element {
                ListElement::Comment(text) => {
                    self.push_comment(text);
                    let taken = std::mem::replace(text, SecretBytes::new(Vec::new()));
                    // sops walkSlice stores whatever comes back: an encrypted
                    // list comment stays a plain string element (spec §2.1
                    // quirk), and a `type:comment` string decrypts back to a
                    // comment.
                    *element = match self.call(Leaf::Comment(taken))? {
                        Leaf::Comment(c) => ListElement::Comment(c),
                        Leaf::Value(v) => ListElement::Value(v),
                    };
                }
                ListElement::Value(v @ (Value::Branch(_) | Value::List(_) | Value::Null)) => {
                    self.value(v)?;
                }
                ListElement::Value(v) => {
                    let taken = std::mem::replace(v, Value::Null);
                    *element = match self.call(Leaf::Value(taken))? {
                        Leaf::Comment(c) => ListElement::Comment(c),
                        Leaf::Value(v) => ListElement::Value(v),
                    };
                }
            }
            if !is_comment {
                self.clear_level();
            }
        }
        self.stack.pop();
        Ok(())
    }
}

fn aad_for(path: &[String]) -> Vec<u8> {
    let mut aad = path_text(path).into_bytes();
    aad.push(b':');
    aad
}

/// Encrypts every leaf the rule selects and returns the MAC (hex) over the
/// plaintext tree (sops `Tree.Encrypt`).
pub(crate) fn encrypt_branches(
    branches: &mut [Branch],
    key: &SecretBytes,
    rule: &CryptRule,
    mac_only_encrypted: bool,
) -> Result<zeroize::Zeroizing<String>, Error> {
    let mut mac = MacHasher::new(mac_only_encrypted);
    walk(branches, &mut |leaf, ctx| {
        let is_comment = matches!(leaf, Leaf::Comment(_));
        let encrypt = rule.should_encrypt(ctx.path, ctx.comments, is_comment);
        match leaf {
            Leaf::Comment(text) => {
                if !encrypt || text.is_empty() {
                    return Ok(Leaf::Comment(text));
                }
                let sealed = cipher::seal(
                    key,
                    text.expose_secret(),
                    &aad_for(ctx.path),
                    ValueType::Comment,
                )?;
                if let CryptRule::UnencryptedCommentRegex(p) = rule {
                    // Decryption would leave such a comment alone and then fail
                    // the MAC, so sops refuses it up front.
                    if p.is_match(sealed.as_bytes()) {
                        return Err(Error::EncryptedCommentMatchesRule {
                            path: path_text(ctx.path).into(),
                        });
                    }
                }
                Ok(Leaf::Value(Value::str(&sealed)))
            }
            Leaf::Value(value) => {
                let (bytes, ty) = cipher::to_typed_bytes(&value).ok_or(Error::UnexpectedLeaf {
                    path: path_text(ctx.path).into(),
                })?;
                mac.feed(bytes.expose_secret(), encrypt);
                // Empty values are not encrypted (aes/cipher.go isEmpty).
                if !encrypt || bytes.is_empty() {
                    return Ok(Leaf::Value(value));
                }
                let sealed = cipher::seal(key, bytes.expose_secret(), &aad_for(ctx.path), ty)?;
                Ok(Leaf::Value(Value::str(&sealed)))
            }
        }
    })?;
    Ok(mac.finish())
}

/// Decrypts every leaf the rule selects and returns the MAC (hex) over the
/// decrypted tree (sops `Tree.Decrypt`).
pub(crate) fn decrypt_branches(
    branches: &mut [Branch],
    key: &SecretBytes,
    rule: &CryptRule,
    mac_only_encrypted: bool,
) -> Result<zeroize::Zeroizing<String>, Error> {
    let mut mac = MacHasher::new(mac_only_encrypted);
    walk(branches, &mut |leaf, ctx| {
        let is_comment = matches!(leaf, Leaf::Comment(_));
        let encrypted = rule.should_encrypt(ctx.path, ctx.comments, is_comment);
        let path = || path_text(ctx.path);
        let out = if !encrypted {
            leaf
        } else {
            match leaf {
                Leaf::Comment(text) => {
                    // A comment that does not open is assumed never to have
                    // been encrypted (sops logs a warning and keeps it).
                    let opened = EncryptedValue::parse(text.expose_secret()).and_then(|ev| {
                        cipher::open(key, &ev, &aad_for(ctx.path)).map(|p| (p, ev.value_type))
                    });
                    match opened {
                        None => Leaf::Comment(text),
                        Some((plain, ty)) => match cipher::from_typed_bytes(plain, &ty, &path())? {
                            Plain::Comment(c) => Leaf::Comment(c),
                            Plain::Value(v) => Leaf::Value(v),
                        },
                    }
                }
                Leaf::Value(Value::Str(s)) if s.is_empty() => Leaf::Value(Value::Str(s)),
                Leaf::Value(Value::Str(s)) => {
                    let ev = EncryptedValue::parse(s.expose_secret()).ok_or_else(|| {
                        Error::MalformedEncryptedValue {
                            path: path().into(),
                        }
                    })?;
                    let plain = cipher::open(key, &ev, &aad_for(ctx.path)).ok_or_else(|| {
                        Error::ValueDecryption {
                            path: path().into(),
                        }
                    })?;
                    match cipher::from_typed_bytes(plain, &ev.value_type, &path())? {
                        Plain::Comment(c) => Leaf::Comment(c),
                        Plain::Value(v) => Leaf::Value(v),
                    }
                }
                // sops would panic on a non-string here (`in.(string)`).
                Leaf::Value(_) => {
                    return Err(Error::MalformedEncryptedValue {
                        path: path().into(),
                    });
                }
            }
        };
        if let Leaf::Value(v) = &out {
            if let Some((bytes, _)) = cipher::to_typed_bytes(v) {
                mac.feed(bytes.expose_secret(), encrypted);
            }
        }
        Ok(out)
    })?;
    Ok(mac.finish())
}

/// What inspection found at one leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafReport {
    /// 0-based document (YAML documents; other formats have one).
    pub document: usize,
    /// Mapping keys from the root (list indices are not part of sops paths).
    pub path: Vec<String>,
    /// Whether the leaf is a comment (or an encrypted comment in a list).
    pub is_comment: bool,
    /// Whether the leaf holds an `ENC[…]` value.
    pub encrypted: bool,
    /// Whether the leaf, one the rule encrypts, starts like an `ENC[` value
    /// but is not a well-formed one (truncated, bad base64, missing field):
    /// damaged or hand-edited. A leaf the rule leaves in clear is the
    /// user's text, whatever it starts with.
    pub malformed: bool,
    /// The `type:` of an encrypted leaf, or the cleartext type of a plain one.
    pub value_type: String,
    /// Whether the file's rule says this leaf should be encrypted.
    pub rule_says_encrypted: bool,
    /// Whether the leaf is empty (sops never encrypts empty values).
    pub empty: bool,
}

/// Lists every leaf without any key.
pub(crate) fn inspect_branches(
    branches: &mut [Branch],
    rule: &CryptRule,
) -> Result<Vec<LeafReport>, Error> {
    let mut out = Vec::new();
    // One walk per document so each leaf knows its document; the walker's
    // path and comment stack are empty between documents anyway.
    for (document, branch) in branches.iter_mut().enumerate() {
        walk(std::slice::from_mut(branch), &mut |leaf, ctx| {
            let is_comment = matches!(leaf, Leaf::Comment(_));
            let rule_says_encrypted = rule.should_encrypt(ctx.path, ctx.comments, is_comment);
            let (text, plain_type) = match &leaf {
                Leaf::Comment(c) => (Some(c.expose_secret()), "comment"),
                Leaf::Value(Value::Str(s)) => (Some(s.expose_secret()), "str"),
                Leaf::Value(v) => (None, v.kind()),
            };
            let parsed = text.and_then(EncryptedValue::parse);
            // Only where the rule encrypts: a leaf it leaves in clear (an
            // `_unencrypted` key) is the user's text, which may start with
            // `ENC[` as any text may, and sops leaves it as it is.
            let malformed = rule_says_encrypted
                && parsed.is_none()
                && text.is_some_and(|t| t.starts_with(b"ENC["));
            out.push(LeafReport {
                document,
                path: ctx.path.to_vec(),
                is_comment: is_comment
                    || parsed.as_ref().is_some_and(|p| p.value_type == "comment"),
                encrypted: parsed.is_some(),
                malformed,
                value_type: parsed
                    .map(|p| p.value_type)
                    .unwrap_or_else(|| plain_type.to_string()),
                rule_says_encrypted,
                empty: text.is_some_and(<[u8]>::is_empty),
            });
            Ok(leaf)
        })?;
    }
    Ok(out)
}
