//! The signature schemes a receipt can be signed with, and how a signature of
//! each scheme is stored in a DSSE `sig` field and named in `keyid`.
//!
//! Every scheme signs the same bytes, the DSSE PAE of the envelope (DSSE v1,
//! github.com/secure-systems-lab/dsse), each as its own spec says: OpenSSH
//! `PROTOCOL.sshsig`, minisign, Vault/OpenBao transit. What differs is
//! how the signature travels:
//!
//! | scheme     | `sig` bytes                                                    | `keyid`                       |
//! |------------|----------------------------------------------------------------|-------------------------------|
//! | `ed25519`  | the 64 raw signature bytes                                     | `ed25519` or `ed25519:SHA256:…` |
//! | `sshsig`   | the binary SSHSIG blob (the armor's base64, decoded)           | `sshsig:SHA256:…`             |
//! | `minisign` | the 4-line signature file, untrusted comment normalised        | `minisign:<KEYID hex>`        |
//! | `transit`  | the ASCII text `vault:v<N>:<base64>` (ed25519 or ECDSA)        | `transit:v<N>`                |
//!
//! Each encoding is canonical: the decoder accepts exactly one byte form per
//! signature, so no byte of a signed envelope can change without the
//! verifier noticing (the byte-flip tests in `tests/handover_signatures.rs`
//! rely on this). [`super::attach_signature`] turns what the signing tools write into that
//! form.
//!
//! `keyid` is not authenticated (DSSE `envelope.md`). Its scheme prefix tells
//! the verifier how to read `sig`; the rest is a claim the verifier checks
//! against the key that actually verified, never a reason to trust a key.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ssh_key::public::KeyData;
use ssh_key::{HashAlg, SshSig};

/// The untrusted-comment line that `minisign -S` writes by default. Stored
/// minisign signatures always carry this line: the comment is not signed, so
/// allowing any other text would let unsigned bytes vary.
pub const MINISIGN_UNTRUSTED_COMMENT: &str =
    "untrusted comment: signature from minisign secret key";

/// A signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheme {
    /// Plain Ed25519 (RFC 8032) over the PAE bytes.
    Ed25519,
    /// OpenSSH SSHSIG (`ssh-keygen -Y sign`) over the PAE bytes.
    Sshsig,
    /// minisign over the PAE bytes.
    Minisign,
    /// Vault/OpenBao transit (ed25519, ECDSA P-256 or P-384) over the PAE
    /// bytes.
    Transit,
}

impl Scheme {
    /// Every scheme, in TRUSTFILE documentation order.
    pub const ALL: [Scheme; 4] = [
        Scheme::Ed25519,
        Scheme::Sshsig,
        Scheme::Minisign,
        Scheme::Transit,
    ];

    /// The scheme's name in `keyid`, in TRUSTFILE lines and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ed25519 => "ed25519",
            Scheme::Sshsig => "sshsig",
            Scheme::Minisign => "minisign",
            Scheme::Transit => "transit",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the [`Scheme`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature scheme {found:?}; expected one of ed25519, sshsig, minisign, transit")]
pub struct UnknownScheme {
    /// What was given.
    pub found: String,
}

impl FromStr for Scheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == s)
            .ok_or_else(|| UnknownScheme {
                found: s.to_owned(),
            })
    }
}

/// Why signature bytes are not a well-formed signature of their scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Wrong length for a raw Ed25519 signature.
    #[error("an ed25519 signature is 64 bytes, found {found}")]
    Ed25519Length {
        /// Length found.
        found: usize,
    },
    /// Not base64 of 64 bytes (attach only: a text signature file).
    #[error("expected 64 raw bytes or the base64 of 64 bytes")]
    Ed25519Text,
    /// The SSHSIG blob or armor does not parse.
    #[error("not an SSHSIG signature: {reason}")]
    Sshsig {
        /// What the parser reported.
        reason: String,
    },
    /// The SSHSIG blob parses but is not in its one canonical encoding.
    #[error("SSHSIG blob is not canonically encoded")]
    SshsigNotCanonical,
    /// The minisign signature file does not have the expected shape.
    #[error("not a minisign signature file: {reason}")]
    Minisign {
        /// Which part is wrong.
        reason: &'static str,
    },
    /// The minisign algorithm bytes are neither `Ed` nor `ED`.
    #[error("minisign signature algorithm is not Ed (legacy) or ED (prehashed)")]
    MinisignAlgorithm,
    /// The transit signature text is not `vault:v<N>:<base64>`.
    #[error("not a transit signature `vault:v<N>:<base64>`: {reason}")]
    Transit {
        /// Which part is wrong.
        reason: &'static str,
    },
    /// `keyid` is missing.
    #[error("signature has no keyid; ceremony needs `<scheme>[:<key>]` to read it")]
    MissingKeyId,
    /// `keyid` names no known scheme.
    #[error(
        "keyid {keyid:?} does not start with a known scheme (ed25519, sshsig, minisign, transit)"
    )]
    KeyIdScheme {
        /// The keyid found.
        keyid: String,
    },
    /// `keyid` disagrees with what the signature bytes say about the key.
    #[error("keyid {keyid:?} does not match the signature, which says {expected:?}")]
    KeyIdDisagrees {
        /// The keyid found.
        keyid: String,
        /// The keyid the signature implies.
        expected: String,
    },
}

/// A signature decoded from its `sig` bytes. Nothing here has been verified.
#[derive(Clone)]
pub(crate) enum Decoded {
    Ed25519(ed25519_dalek::Signature),
    Sshsig(Box<SshSig>),
    Minisign(Box<MinisignSig>),
    Transit {
        version: u32,
        /// The base64 after `vault:v<N>:`; how it is decoded depends on
        /// the trusted key's type and marshaling.
        signature: String,
    },
}

/// A minisign signature with the fields minisign-verify keeps private.
#[derive(Clone)]
pub(crate) struct MinisignSig {
    pub(crate) parsed: minisign_verify::Signature,
    pub(crate) key_id: [u8; 8],
    /// Algorithm `Ed`: Ed25519 over the message itself. minisign calls this
    /// legacy and signs prehashed (`ED`) by default.
    pub(crate) legacy: bool,
    /// The Ed25519 signature over the message (or its BLAKE2b-512 hash).
    pub(crate) signature: ed25519_dalek::Signature,
    /// The Ed25519 global signature over `signature` ‖ trusted comment.
    pub(crate) global_signature: ed25519_dalek::Signature,
}

/// minisign prints key ids as the 8 key-id bytes read as a little-endian
/// integer in uppercase hex (see the `untrusted comment` of a `minisign.pub`).
pub(crate) fn minisign_key_id_hex(key_id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*key_id))
}

/// OpenSSH's `SHA256:<unpadded base64>` fingerprint, as `ssh-keygen -l` shows.
pub(crate) fn ssh_fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The SSH fingerprint of a raw Ed25519 public key: the same text
/// `ssh-keygen -l` prints for the matching `ssh-ed25519` key.
pub(crate) fn ed25519_fingerprint(public: &[u8; 32]) -> String {
    ssh_fingerprint(&KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(
        *public,
    )))
}

/// The scheme a `keyid` names, and the rest of it (the key claim), if any.
pub(crate) fn split_keyid(keyid: Option<&str>) -> Result<(Scheme, Option<&str>), Malformed> {
    let keyid = keyid.ok_or(Malformed::MissingKeyId)?;
    let (scheme, claim) = match keyid.split_once(':') {
        Some((scheme, claim)) => (scheme, Some(claim)),
        None => (keyid, None),
    };
    let scheme = scheme.parse().map_err(|_| Malformed::KeyIdScheme {
        keyid: keyid.to_owned(),
    })?;
    Ok((scheme, claim))
}

/// The `keyid` ceremony writes for a signature, when the signature bytes
/// themselves say which key made it. `None` for plain Ed25519, whose raw
/// bytes do not.
pub(crate) fn implied_keyid(decoded: &Decoded) -> Option<String> {
    match decoded {
        Decoded::Ed25519(_) => None,
        Decoded::Sshsig(sig) => Some(format!("sshsig:{}", ssh_fingerprint(sig.public_key()))),
        Decoded::Minisign(sig) => Some(format!("minisign:{}", minisign_key_id_hex(&sig.key_id))),
        Decoded::Transit { version, .. } => Some(format!("transit:v{version}")),
    }
}

/// The `keyid` for a plain Ed25519 signature by `public`.
pub(crate) fn ed25519_keyid(public: &[u8; 32]) -> String {
    format!("ed25519:{}", ed25519_fingerprint(public))
}

/// Decodes `sig` bytes of `scheme`, accepting only the canonical form
/// described in the module documentation.
pub(crate) fn decode(scheme: Scheme, sig: &[u8]) -> Result<Decoded, Malformed> {
    match scheme {
        Scheme::Ed25519 => {
            let bytes: [u8; 64] = sig
                .try_into()
                .map_err(|_| Malformed::Ed25519Length { found: sig.len() })?;
            Ok(Decoded::Ed25519(ed25519_dalek::Signature::from_bytes(
                &bytes,
            )))
        }
        Scheme::Sshsig => decode_sshsig(sig),
        Scheme::Minisign => decode_minisign(sig),
        Scheme::Transit => decode_transit(sig),
    }
}

fn decode_sshsig(blob: &[u8]) -> Result<Decoded, Malformed> {
    use ssh_encoding::{Decode, Reader};

    let mut reader = blob;
    let sig = SshSig::decode(&mut reader).map_err(|e| Malformed::Sshsig {
        reason: e.to_string(),
    })?;
    let sig = reader.finish(sig).map_err(|e| Malformed::Sshsig {
        reason: e.to_string(),
    })?;
    // PROTOCOL.sshsig: "Verifiers MUST reject signatures with versions
    // greater than those they support"; ssh-key rejects > 1, we also refuse 0.
    if sig.version() != SshSig::VERSION {
        return Err(Malformed::Sshsig {
            reason: format!("version {} is not 1", sig.version()),
        });
    }
    // SSH wire encoding has one form per value, but check rather than
    // assume: a blob that re-encodes differently has bytes nobody signed.
    let again = sshsig_blob(&sig).map_err(|e| Malformed::Sshsig {
        reason: e.to_string(),
    })?;
    if again != blob {
        return Err(Malformed::SshsigNotCanonical);
    }
    Ok(Decoded::Sshsig(Box::new(sig)))
}

/// The binary SSHSIG blob (PROTOCOL.sshsig), i.e. the armor's base64 decoded.
pub(crate) fn sshsig_blob(sig: &SshSig) -> Result<Vec<u8>, ssh_encoding::Error> {
    use ssh_encoding::Encode;
    let mut out = Vec::new();
    sig.encode(&mut out)?;
    Ok(out)
}

/// Splits a canonical minisign signature file into its four lines.
///
/// minisign README: untrusted comment, base64(alg ‖ key id ‖ signature),
/// `trusted comment: …`, base64(global signature over signature ‖ trusted
/// comment). Each line ends in `\n`, as `minisign -S` writes it.
fn decode_minisign(sig: &[u8]) -> Result<Decoded, Malformed> {
    let text = std::str::from_utf8(sig).map_err(|_| Malformed::Minisign {
        reason: "not UTF-8",
    })?;
    let body = text.strip_suffix('\n').ok_or(Malformed::Minisign {
        reason: "must end with a newline",
    })?;
    let lines: Vec<&str> = body.split('\n').collect();
    let [untrusted, sig_line, trusted, global_line] = lines[..] else {
        return Err(Malformed::Minisign {
            reason: "expected exactly 4 lines",
        });
    };
    if untrusted != MINISIGN_UNTRUSTED_COMMENT {
        return Err(Malformed::Minisign {
            reason: "first line must be the standard untrusted comment",
        });
    }
    if trusted.contains('\r') || !trusted.starts_with("trusted comment: ") {
        return Err(Malformed::Minisign {
            reason: "third line must be `trusted comment: …`",
        });
    }
    let sig_bin = STANDARD
        .decode(sig_line)
        .ok()
        .filter(|b| b.len() == 74)
        .ok_or(Malformed::Minisign {
            reason: "second line must be base64 of 74 bytes",
        })?;
    let global: [u8; 64] = STANDARD
        .decode(global_line)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Malformed::Minisign {
            reason: "fourth line must be base64 of 64 bytes",
        })?;
    let legacy = match sig_bin.get(..2) {
        Some(b"Ed") => true,
        Some(b"ED") => false,
        _ => return Err(Malformed::MinisignAlgorithm),
    };
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(sig_bin.get(2..10).ok_or(Malformed::Minisign {
        reason: "second line too short",
    })?);
    let signature = sig_bin
        .get(10..74)
        .and_then(|bytes| ed25519_dalek::Signature::from_slice(bytes).ok())
        .ok_or(Malformed::Minisign {
            reason: "second line too short",
        })?;
    let parsed = minisign_verify::Signature::decode(text).map_err(|_| Malformed::Minisign {
        reason: "rejected by minisign-verify",
    })?;
    Ok(Decoded::Minisign(Box::new(MinisignSig {
        parsed,
        key_id,
        legacy,
        signature,
        global_signature: ed25519_dalek::Signature::from_bytes(&global),
    })))
}

fn decode_transit(sig: &[u8]) -> Result<Decoded, Malformed> {
    let text = std::str::from_utf8(sig).map_err(|_| Malformed::Transit {
        reason: "not ASCII",
    })?;
    let rest = text.strip_prefix("vault:v").ok_or(Malformed::Transit {
        reason: "must start with `vault:v`",
    })?;
    let (version, b64) = rest.split_once(':').ok_or(Malformed::Transit {
        reason: "missing `:` after the version",
    })?;
    let version = parse_version(version).ok_or(Malformed::Transit {
        reason: "version must be a decimal number from 1, without leading zeros",
    })?;
    // The text does not say which key type or marshaling made it; the
    // trusted key decides how it is read (`transit.rs`). Here it only has
    // to be one of the shapes transit writes.
    if !transit_shape(b64) {
        return Err(Malformed::Transit {
            reason: "the signature must be canonical standard base64 of a 64-byte Ed25519 signature or an ASN.1 DER ECDSA signature, or URL-safe unpadded base64 of a 64- or 96-byte r‖s (JWS) ECDSA signature",
        });
    }
    Ok(Decoded::Transit {
        version,
        signature: b64.to_owned(),
    })
}

/// Whether `b64` is a signature as transit writes one (OpenBao
/// `keysutil/policy.go` `SignWithOptions`): standard base64 of 64 bytes
/// (ed25519) or of a DER `SEQUENCE` (ECDSA, `marshaling_algorithm=asn1`;
/// 8 to 104 bytes up to P-384), or URL-safe unpadded base64 of `r ‖ s` for
/// P-256 or P-384 (`jws`).
fn transit_shape(b64: &str) -> bool {
    let standard = STANDARD
        .decode(b64)
        .is_ok_and(|b| b.len() == 64 || (b.first() == Some(&0x30) && (8..=104).contains(&b.len())));
    standard
        || URL_SAFE_NO_PAD
            .decode(b64)
            .is_ok_and(|b| b.len() == 64 || b.len() == 96)
}

/// A key version as Vault writes it: decimal, at least 1, no leading zeros
/// (so `v3` and `v03` cannot both name version 3).
pub(crate) fn parse_version(text: &str) -> Option<u32> {
    if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|v| *v >= 1)
}

/// Turns a signature file as a signing tool writes it into the canonical
/// `sig` bytes of `scheme`, and decodes it.
///
/// Accepted inputs:
/// - `ed25519`: 64 raw bytes, or the base64 of 64 bytes (surrounding
///   whitespace ignored);
/// - `sshsig`: the armored file `ssh-keygen -Y sign` writes, or the binary blob;
/// - `minisign`: the file `minisign -S` writes; CRLF line ends and any
///   untrusted comment are accepted and normalised, since neither is signed;
/// - `transit`: the `vault:v<N>:<base64>` text, with surrounding whitespace
///   (e.g. a final newline) ignored.
pub(crate) fn normalise(scheme: Scheme, file: &[u8]) -> Result<(Vec<u8>, Decoded), Malformed> {
    let canonical = match scheme {
        Scheme::Ed25519 => {
            if file.len() == 64 {
                file.to_vec()
            } else {
                let text = std::str::from_utf8(file).map_err(|_| Malformed::Ed25519Text)?;
                let bytes = STANDARD
                    .decode(text.trim())
                    .or_else(|_| STANDARD_NO_PAD.decode(text.trim()))
                    .map_err(|_| Malformed::Ed25519Text)?;
                if bytes.len() != 64 {
                    return Err(Malformed::Ed25519Text);
                }
                bytes
            }
        }
        Scheme::Sshsig => {
            if file.starts_with(b"SSHSIG") {
                file.to_vec()
            } else {
                let sig = SshSig::from_pem(file).map_err(|e| Malformed::Sshsig {
                    reason: e.to_string(),
                })?;
                sshsig_blob(&sig).map_err(|e| Malformed::Sshsig {
                    reason: e.to_string(),
                })?
            }
        }
        Scheme::Minisign => {
            let text = std::str::from_utf8(file).map_err(|_| Malformed::Minisign {
                reason: "not UTF-8",
            })?;
            let lines: Vec<&str> = text.lines().collect();
            let [_untrusted, sig_line, trusted, global_line] = lines[..] else {
                return Err(Malformed::Minisign {
                    reason: "expected exactly 4 lines",
                });
            };
            format!("{MINISIGN_UNTRUSTED_COMMENT}\n{sig_line}\n{trusted}\n{global_line}\n")
                .into_bytes()
        }
        Scheme::Transit => {
            let text = std::str::from_utf8(file).map_err(|_| Malformed::Transit {
                reason: "not ASCII",
            })?;
            text.trim().as_bytes().to_vec()
        }
    };
    let decoded = decode(scheme, &canonical)?;
    Ok((canonical, decoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.as_str().parse::<Scheme>().unwrap(), scheme);
        }
        assert!("ED25519".parse::<Scheme>().is_err());
    }

    #[test]
    fn keyid_needs_a_known_scheme() {
        assert_eq!(
            split_keyid(Some("sshsig:SHA256:x")).unwrap(),
            (Scheme::Sshsig, Some("SHA256:x"))
        );
        assert_eq!(
            split_keyid(Some("ed25519")).unwrap(),
            (Scheme::Ed25519, None)
        );
        assert_eq!(split_keyid(None), Err(Malformed::MissingKeyId));
        assert!(matches!(
            split_keyid(Some("rsa:abc")),
            Err(Malformed::KeyIdScheme { .. })
        ));
    }

    #[test]
    fn versions_have_one_spelling() {
        assert_eq!(parse_version("3"), Some(3));
        assert_eq!(parse_version("12"), Some(12));
        for bad in ["", "0", "03", "+3", "3 ", "x", "99999999999"] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn transit_text_is_strict() {
        let b64 = STANDARD.encode([7u8; 64]);
        let der = STANDARD.encode([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]);
        let jws = URL_SAFE_NO_PAD.encode([0xfb; 96]);
        for good in [
            format!("vault:v3:{b64}"),
            format!("vault:v3:{der}"),
            format!("vault:v3:{jws}"),
            format!("vault:v3:{}", URL_SAFE_NO_PAD.encode([0xfb; 64])),
        ] {
            assert!(decode(Scheme::Transit, good.as_bytes()).is_ok(), "{good:?}");
        }
        for bad in [
            format!("vault:v3:{b64}\n"),
            format!("vault:v03:{b64}"),
            format!("vault:3:{b64}"),
            format!("vault:v3:{}", STANDARD.encode([7u8; 63])),
            format!("vault:v3:{}", STANDARD.encode([0x31; 70])),
            format!("vault:v3:{}", URL_SAFE_NO_PAD.encode([0xfb; 95])),
            format!("vault:v3:{}", b64.replace('B', "-")),
            "vault:v3:".to_owned(),
        ] {
            assert!(
                matches!(
                    decode(Scheme::Transit, bad.as_bytes()),
                    Err(Malformed::Transit { .. })
                ),
                "{bad:?}"
            );
        }
        let (canonical, _) =
            normalise(Scheme::Transit, format!("vault:v3:{b64}\n").as_bytes()).unwrap();
        assert_eq!(canonical, format!("vault:v3:{b64}").into_bytes());
    }

    #[test]
    fn ed25519_signature_is_64_bytes() {
        assert!(decode(Scheme::Ed25519, &[0u8; 64]).is_ok());
        assert_eq!(
            decode(Scheme::Ed25519, &[0u8; 65]).err(),
            Some(Malformed::Ed25519Length { found: 65 })
        );
        let text = format!("{}\n", STANDARD.encode([9u8; 64]));
        assert_eq!(
            normalise(Scheme::Ed25519, text.as_bytes()).unwrap().0,
            vec![9u8; 64]
        );
    }

    #[test]
    fn minisign_key_id_prints_like_minisign() {
        // From a `minisign -G` run: the public key's base64 carries the key id
        // bytes 18 80 59 63 e8 10 8a 71 and minisign prints 718A10E863598018.
        let id = [0x18, 0x80, 0x59, 0x63, 0xe8, 0x10, 0x8a, 0x71];
        assert_eq!(minisign_key_id_hex(&id), "718A10E863598018");
    }
}
