//! Value encryption: AES-256-GCM with a 32-byte nonce, the `ENC[…]` text
//! form, and the typed plaintext serialisation (sops: `aes/cipher.go`).
//!
//! The additional data of a value is its key path joined with `:` plus a
//! trailing `:` (`app:servers:port:`), so a value moved to another key fails
//! its tag. The MAC is the one exception: its additional data is the
//! `lastmodified` text, with no trailing colon (see `mac.rs`).

use aes::Aes256;
use aes_gcm::aead::consts::{U12, U32};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use zeroize::Zeroizing;

use super::Error;
use super::tree::{GoTime, Value, go_format_float_f, go_parse_float};
use crate::secret::SecretBytes;

/// sops' GCM: 32-byte nonces (`aes/cipher.go`, `nonceSize = 32`). GCM derives
/// J0 from a non-96-bit nonce with GHASH, so this is *not* `Aes256Gcm`.
type SopsGcm = AesGcm<Aes256, U32>;
/// Standard 12-byte-nonce GCM, accepted on decryption: sops builds its GCM
/// with the decoded IV's length (`NewGCMWithNonceSize`).
type Gcm12 = AesGcm<Aes256, U12>;

/// Length of sops' data key.
pub const DATA_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// The `type:` of an encrypted value (spec §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// UTF-8 or raw bytes.
    Str,
    /// Decimal i64.
    Int,
    /// Go `FormatFloat('f', -1)`.
    Float,
    /// `True` / `False`.
    Bool,
    /// RFC 3339 (Go `MarshalText`).
    Time,
    /// A comment's text.
    Comment,
    /// Raw bytes; read but never written by sops.
    Bytes,
}

impl ValueType {
    /// The name in the `ENC[…]` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
            ValueType::Bytes => "bytes",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            "bytes" => ValueType::Bytes,
            _ => return None,
        })
    }
}

/// The parts of `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedValue {
    /// Ciphertext without the tag (same length as the plaintext).
    pub data: Vec<u8>,
    /// The nonce.
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// The raw `type:` text (checked when the value is decrypted).
    pub value_type: String,
}

impl EncryptedValue {
    /// Parses the text form. sops matches
    /// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`, anchored at
    /// the start only; `None` if `text` is not of that form.
    pub fn parse(text: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let rest = text.strip_prefix("ENC[AES256_GCM,data:")?;
        // Go's `(.+)` groups are greedy; base64 never contains ',' so a split
        // on the field labels finds the same boundaries.
        let (data, rest) = rest.split_once(",iv:")?;
        let (iv, rest) = rest.split_once(",tag:")?;
        let (tag, rest) = rest.split_once(",type:")?;
        let close = rest.rfind(']')?;
        let value_type = &rest[..close];
        if data.is_empty() || iv.is_empty() || tag.is_empty() || value_type.is_empty() {
            return None;
        }
        Some(Self {
            data: STANDARD.decode(data).ok()?,
            iv: STANDARD.decode(iv).ok()?,
            tag: STANDARD.decode(tag).ok()?,
            value_type: value_type.to_string(),
        })
    }

    /// The text form, standard padded base64 throughout.
    pub fn to_text(&self) -> String {
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            STANDARD.encode(&self.data),
            STANDARD.encode(&self.iv),
            STANDARD.encode(&self.tag),
            self.value_type
        )
    }
}

/// Whether a leaf's text looks like an `ENC[…]` value (used by inspection).
pub fn is_encrypted_text(text: &[u8]) -> bool {
    EncryptedValue::parse(text).is_some()
}

/// Encrypts `plaintext` under `key` with additional data `aad`, drawing a
/// fresh 32-byte nonce from the OS CSPRNG.
pub fn seal(
    key: &SecretBytes,
    plaintext: &[u8],
    aad: &[u8],
    value_type: ValueType,
) -> Result<String, Error> {
    let mut iv = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let cipher = SopsGcm::new_from_slice(key.expose_secret())
        .map_err(|_| Error::DataKeyLength { len: key.len() })?;
    let mut sealed = cipher
        .encrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::Encryption)?;
    // sops stores the tag apart from the ciphertext.
    let tag = sealed.split_off(sealed.len().saturating_sub(TAG_LEN));
    Ok(EncryptedValue {
        data: sealed,
        iv: iv.to_vec(),
        tag,
        value_type: value_type.as_str().to_string(),
    }
    .to_text())
}

/// Opens an encrypted value. Fails with `None` on a wrong key, wrong
/// additional data, tampered data/IV/tag or an unsupported IV length; the
/// caller turns that into an error naming the key path.
pub fn open(key: &SecretBytes, value: &EncryptedValue, aad: &[u8]) -> Option<SecretBytes> {
    let mut msg = Zeroizing::new(Vec::with_capacity(value.data.len() + value.tag.len()));
    msg.extend_from_slice(&value.data);
    msg.extend_from_slice(&value.tag);
    let payload = Payload { msg: &msg, aad };
    let plain = match value.iv.len() {
        NONCE_LEN => SopsGcm::new_from_slice(key.expose_secret())
            .ok()?
            .decrypt(Nonce::<U32>::from_slice(&value.iv), payload)
            .ok()?,
        12 => Gcm12::new_from_slice(key.expose_secret())
            .ok()?
            .decrypt(Nonce::<U12>::from_slice(&value.iv), payload)
            .ok()?,
        _ => return None,
    };
    Some(SecretBytes::new(plain))
}

/// A leaf's canonical bytes and type: sops `ToBytes` and the type switch in
/// `Cipher.Encrypt`. `None` for null and containers, which are not leaves.
pub fn to_typed_bytes(value: &Value) -> Option<(SecretBytes, ValueType)> {
    Some(match value {
        Value::Str(s) => (s.clone(), ValueType::Str),
        Value::Int(i) => (SecretBytes::new(i.to_string().into_bytes()), ValueType::Int),
        Value::Float(f) => (
            SecretBytes::new(go_format_float_f(*f).into_bytes()),
            ValueType::Float,
        ),
        // A Python-era convention kept by sops: title case.
        Value::Bool(b) => (
            SecretBytes::from_slice(if *b { b"True" } else { b"False" }),
            ValueType::Bool,
        ),
        Value::Time(t) => (
            SecretBytes::from_slice(t.as_str().as_bytes()),
            ValueType::Time,
        ),
        Value::Null | Value::Branch(_) | Value::List(_) => return None,
    })
}

/// The result of decrypting one leaf.
pub enum Plain {
    /// A value.
    Value(Value),
    /// A comment's text.
    Comment(SecretBytes),
}

/// An unknown `type:` as an error shows it: the file's text, so only when
/// it looks like a type name (short, lowercase letters, digits, `_`);
/// anything else (a pasted key, a value) is not repeated.
fn shown_type(value_type: &str) -> String {
    let plausible = value_type.len() <= 16
        && value_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plausible {
        value_type.to_owned()
    } else {
        "(not a type name; not shown)".to_owned()
    }
}

/// Parses decrypted bytes by their `type:` (sops `Cipher.Decrypt`). Errors
/// name the path and type, never the plaintext.
pub fn from_typed_bytes(plain: SecretBytes, value_type: &str, path: &str) -> Result<Plain, Error> {
    let ty = ValueType::parse(value_type).ok_or_else(|| Error::UnknownValueType {
        path: path.into(),
        value_type: shown_type(value_type),
    })?;
    let bad = || Error::MalformedPlaintext {
        path: path.into(),
        value_type: ty.as_str(),
    };
    let text = || std::str::from_utf8(plain.expose_secret()).map_err(|_| bad());
    Ok(match ty {
        ValueType::Str | ValueType::Bytes => Plain::Value(Value::Str(plain.clone())),
        ValueType::Comment => Plain::Comment(plain.clone()),
        // Go `strconv.Atoi`: optional sign, decimal digits.
        ValueType::Int => Plain::Value(Value::Int(text()?.parse().map_err(|_| bad())?)),
        ValueType::Float => Plain::Value(Value::Float(go_parse_float(text()?).ok_or_else(bad)?)),
        // Go `strconv.ParseBool`.
        ValueType::Bool => Plain::Value(Value::Bool(match text()? {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(bad()),
        })),
        ValueType::Time => {
            Plain::Value(Value::Time(GoTime::parse_rfc3339(text()?).ok_or_else(bad)?))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretBytes {
        SecretBytes::from_slice(&[7u8; 32])
    }

    #[test]
    fn seal_then_open_round_trips_with_the_same_aad() {
        let text = seal(&key(), b"hunter2", b"db:password:", ValueType::Str).unwrap();
        assert!(text.starts_with("ENC[AES256_GCM,data:"));
        assert!(text.ends_with(",type:str]"));
        let parsed = EncryptedValue::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.iv.len(), 32);
        assert_eq!(parsed.tag.len(), 16);
        assert_eq!(parsed.data.len(), 7);
        let plain = open(&key(), &parsed, b"db:password:").unwrap();
        assert_eq!(plain.expose_secret(), b"hunter2");
        assert!(open(&key(), &parsed, b"db:other:").is_none());
    }

    #[test]
    fn every_single_byte_flip_is_rejected() {
        let text = seal(&key(), b"abc", b"k:", ValueType::Str).unwrap();
        let good = EncryptedValue::parse(text.as_bytes()).unwrap();
        for field in 0..3 {
            let len = [good.data.len(), good.iv.len(), good.tag.len()][field];
            for i in 0..len {
                let mut bad = good.clone();
                let target = match field {
                    0 => &mut bad.data,
                    1 => &mut bad.iv,
                    _ => &mut bad.tag,
                };
                target[i] ^= 0x01;
                assert!(
                    open(&key(), &bad, b"k:").is_none(),
                    "field {field} byte {i}"
                );
            }
        }
    }

    #[test]
    fn known_answer_from_fixture_k8s_secret() {
        // shared/fixtures/sops/k8s-secret.enc.yaml, data.username; data key
        // from expected.json.
        let key = SecretBytes::new(
            hex::decode("9024562a1c3d93f89a6c911d677e9fa8115004eb9782a2197c1e2d8ba3b0ceef")
                .unwrap(),
        );
        let v = EncryptedValue::parse(b"ENC[AES256_GCM,data:gAHaYwcf5mQ=,iv:MW5P91BAZYwtZc+YUeZbXcVr54nlFsmbun2yDs0ERG8=,tag:Vw2fmQItWUiAuhO8lsFGyw==,type:str]").unwrap();
        let plain = open(&key, &v, b"data:username:").unwrap();
        assert_eq!(plain.expose_secret(), b"YWRtaW4=");
    }

    #[test]
    fn parse_rejects_other_forms() {
        assert!(EncryptedValue::parse(b"ENC[AES256_GCM,data:,iv:a,tag:a,type:str]").is_none());
        assert!(EncryptedValue::parse(b"plain text").is_none());
        assert!(
            EncryptedValue::parse(b"ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]").is_none()
        );
    }

    #[test]
    fn typed_bytes_follow_sops() {
        let b = |v: Value| {
            let (bytes, ty) = to_typed_bytes(&v).unwrap();
            (
                String::from_utf8(bytes.expose_secret().to_vec()).unwrap(),
                ty.as_str(),
            )
        };
        assert_eq!(b(Value::Bool(true)), ("True".into(), "bool"));
        assert_eq!(b(Value::Int(-42)), ("-42".into(), "int"));
        assert_eq!(b(Value::Float(1.0)), ("1".into(), "float"));
        assert!(to_typed_bytes(&Value::Null).is_none());
        match from_typed_bytes(SecretBytes::from_slice(b"t"), "bool", "a:").unwrap() {
            Plain::Value(Value::Bool(true)) => {}
            _ => panic!("ParseBool accepts t"),
        }
        assert!(matches!(
            from_typed_bytes(SecretBytes::from_slice(b"x"), "int", "a:"),
            Err(Error::MalformedPlaintext { .. })
        ));
        assert!(matches!(
            from_typed_bytes(SecretBytes::from_slice(b"x"), "blob", "a:"),
            Err(Error::UnknownValueType { ref value_type, .. }) if value_type == "blob"
        ));
        // The type text is the file's: what is not a type name is not shown.
        let pasted = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        let Err(err) = from_typed_bytes(SecretBytes::from_slice(b"x"), pasted, "a:") else {
            panic!("an unknown type was accepted");
        };
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("QQQQ") && shown.contains("not a type name"),
            "{shown}"
        );
    }
}
