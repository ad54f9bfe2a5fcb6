//! Share files: a share document encrypted to one custodian as an armored age
//! file, so the stock `age -d -i <identity>` opens it and nothing of this tool
//! is needed to read one's own share.

use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use super::custodians::CustodianKey;
use super::document::{DocumentError, ShareDocument};
use crate::secret::SecretText;

/// Share documents are small; anything much larger is not one of ours.
const MAX_PLAINTEXT: u64 = 1 << 20;

/// Why a share file could not be written or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareFileError {
    /// Not an age file (armored or binary).
    #[error("not an age-encrypted file")]
    NotAgeFile,
    /// The file is for a passphrase, and none was given.
    #[error("this share is protected by a passphrase, and none was entered")]
    NoPassphrase,
    /// The passphrase did not open it.
    #[error("the passphrase does not open this share")]
    WrongPassphrase,
    /// The passphrase file asks for more scrypt work than this machine allows.
    #[error(
        "this passphrase share needs scrypt work factor 2^{required}, more than this machine accepts (2^{allowed}); open it on a comparable machine"
    )]
    ExcessiveWork {
        /// log2 of the work factor in the file.
        required: u8,
        /// log2 of the largest accepted here.
        allowed: u8,
    },
    /// None of the identities opened it.
    #[error("none of the given identities opens this share: pass the custodian's key with -i")]
    NoMatchingIdentity,
    /// The age layer opened but the content is corrupted.
    #[error("the encrypted content is damaged")]
    Damaged,
    /// The plaintext is not a valid share document.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// Encryption failed.
    #[error("encrypting the share failed: {0}")]
    Encrypt(String),
    /// The custodian's age plugin (a hardware token) failed or is missing.
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
}

/// Encrypts `document` to `key`, armored. `passphrase` is required for
/// [`CustodianKey::Passphrase`] and ignored otherwise.
pub fn seal(
    document: &ShareDocument,
    key: &CustodianKey,
    passphrase: Option<&SecretText>,
) -> Result<Vec<u8>, ShareFileError> {
    seal_bytes(&document.to_json()?, key, passphrase)
}

/// Encrypts any secret plaintext to a custodian's key, armored.
pub fn seal_bytes(
    plaintext: &[u8],
    key: &CustodianKey,
    passphrase: Option<&SecretText>,
) -> Result<Vec<u8>, ShareFileError> {
    let encryptor = match key {
        CustodianKey::Age(recipient) => {
            let recipient = crate::x25519::Recipient::new(recipient)
                .map_err(|e| ShareFileError::Encrypt(e.to_string()))?;
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        }
        CustodianKey::SshEd25519(recipient) => {
            crate::x25519::check_ssh(recipient)
                .map_err(|e| ShareFileError::Encrypt(e.to_string()))?;
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
        }
        CustodianKey::Plugin(recipient) => {
            // The plugin wraps the file key; its program must be installed.
            let plugin = crate::plugin::PluginRecipient::new(recipient)?;
            age::Encryptor::with_recipients(std::iter::once(&plugin as &dyn age::Recipient))
        }
        CustodianKey::Passphrase => {
            let passphrase = passphrase.ok_or(ShareFileError::NoPassphrase)?;
            Ok(age::Encryptor::with_user_passphrase(
                passphrase.expose_secret().to_owned().into(),
            ))
        }
    }
    .map_err(|e| match crate::plugin::in_encrypt_error(&e) {
        Some(plugin) => ShareFileError::Plugin(plugin.clone()),
        None => ShareFileError::Encrypt(e.to_string()),
    })?;
    let encrypt = || -> std::io::Result<Vec<u8>> {
        let armor = ArmoredWriter::wrap_output(Vec::new(), Format::AsciiArmor)?;
        let mut writer = encryptor.wrap_output(armor)?;
        writer.write_all(plaintext)?;
        writer.finish()?.finish()
    };
    encrypt().map_err(|e| ShareFileError::Encrypt(e.to_string()))
}

/// Decrypts a share file with `identities`, or, for a passphrase share, with
/// the passphrase `callbacks` asks the custodian for. `what` names the file in
/// the prompt.
pub fn open(
    bytes: &[u8],
    identities: &[crate::identity::Identity],
    callbacks: &dyn Fn(&str) -> Option<SecretText>,
    what: &str,
) -> Result<ShareDocument, ShareFileError> {
    let plaintext = open_bytes(bytes, identities, callbacks, what)?;
    Ok(ShareDocument::from_json(&plaintext)?)
}

/// Decrypts an armored or binary age file made by [`seal_bytes`].
pub fn open_bytes(
    bytes: &[u8],
    identities: &[crate::identity::Identity],
    callbacks: &dyn Fn(&str) -> Option<SecretText>,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, ShareFileError> {
    open_bytes_with(
        bytes,
        identities.iter().map(|i| i.as_ref() as &dyn age::Identity),
        callbacks,
        what,
    )
}

/// [`open`] with the identities to try, in order.
pub fn open_with<'a>(
    bytes: &[u8],
    identities: impl Iterator<Item = &'a dyn age::Identity>,
    callbacks: &dyn Fn(&str) -> Option<SecretText>,
    what: &str,
) -> Result<ShareDocument, ShareFileError> {
    let plaintext = open_bytes_with(bytes, identities, callbacks, what)?;
    Ok(ShareDocument::from_json(&plaintext)?)
}

fn open_bytes_with<'a>(
    bytes: &[u8],
    identities: impl Iterator<Item = &'a dyn age::Identity>,
    callbacks: &dyn Fn(&str) -> Option<SecretText>,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, ShareFileError> {
    // Buffered: `Decryptor::new` reads the header a few bytes at a time
    // and parses it again after each read.
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(bytes))
        .map_err(|_| ShareFileError::NotAgeFile)?;
    let reader = if decryptor.is_scrypt() {
        let passphrase =
            callbacks(&format!("Passphrase for {what}: ")).ok_or(ShareFileError::NoPassphrase)?;
        let identity = age::scrypt::Identity::new(passphrase.expose_secret().to_owned().into());
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::ExcessiveWork { required, target } => {
                    ShareFileError::ExcessiveWork {
                        required,
                        allowed: target.saturating_add(4),
                    }
                }
                _ => ShareFileError::WrongPassphrase,
            })?
    } else {
        decryptor.decrypt(identities).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => ShareFileError::NoMatchingIdentity,
            e => match crate::plugin::in_decrypt_error(&e) {
                Some(plugin) => ShareFileError::Plugin(plugin.clone()),
                None => ShareFileError::Damaged,
            },
        })?
    };
    let mut plaintext = Zeroizing::new(Vec::with_capacity(8192));
    reader
        .take(MAX_PLAINTEXT)
        .read_to_end(&mut plaintext)
        .map_err(|_| ShareFileError::Damaged)?;
    Ok(plaintext)
}
