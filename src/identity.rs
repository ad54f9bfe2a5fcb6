//! Loading the private keys a custodian brings to a ceremony (`-i FILE`).
//!
//! Accepted, as the stock `age -d -i` accepts them: age identity files
//! (`AGE-SECRET-KEY-1…` lines, `#` comments) and OpenSSH ed25519 private
//! keys, passphrase-protected or not. Passphrases are asked for through age's
//! own [`age::Callbacks`], which the command-line edge implements with a
//! terminal prompt; the library never prompts by itself.

use std::io::BufReader;

/// An identity file that could not be used. Never carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Neither an age identity file nor a supported SSH private key.
    #[error(
        "{file}: not an age identity file (AGE-SECRET-KEY-1…) or an OpenSSH ed25519 private key"
    )]
    Unrecognised {
        /// The file as given.
        file: String,
    },
    /// An SSH key type age cannot use here.
    #[error("{file}: this SSH key type is not supported; use an ssh-ed25519 key")]
    UnsupportedSshKey {
        /// The file as given.
        file: String,
    },
}

/// Parses the text of an identity file. `file` names it in errors and prompts.
pub fn load_identity_file<C: age::Callbacks>(
    file: &str,
    bytes: &[u8],
    callbacks: C,
) -> Result<Vec<Box<dyn age::Identity>>, IdentityError> {
    let looks_like_ssh = bytes.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----");
    if !looks_like_ssh {
        if let Ok(parsed) = age::IdentityFile::from_buffer(BufReader::new(bytes)) {
            if let Ok(ids) = parsed.with_callbacks(callbacks.clone()).into_identities() {
                if !ids.is_empty() {
                    return Ok(ids);
                }
            }
        }
        return Err(IdentityError::Unrecognised {
            file: file.to_owned(),
        });
    }
    match age::ssh::Identity::from_buffer(BufReader::new(bytes), Some(file.to_owned())) {
        Ok(age::ssh::Identity::Unsupported(_)) => Err(IdentityError::UnsupportedSshKey {
            file: file.to_owned(),
        }),
        Ok(identity) => Ok(vec![Box::new(identity.with_callbacks(callbacks))]),
        Err(_) => Err(IdentityError::Unrecognised {
            file: file.to_owned(),
        }),
    }
}
