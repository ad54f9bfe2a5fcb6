//! Everything that talks to the operator's terminal: passphrase prompts
//! (rpassword, which reads /dev/tty with echo off) and confirmations
//! (dialoguer, on stderr). Secrets typed here go straight into zeroizing
//! types. An age plugin's messages, PIN prompts and questions ("insert your
//! token") come here too ([`TerminalCallbacks`]), never to stdout.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use ceremony::secret::SecretText;
use ceremony::shares::{CustodianKey, Custodians};

use super::CliError;
use super::output::note;

/// Shortest passphrase accepted for a new share. age's scrypt slows guessing,
/// but a short passphrase is still a weak link for a root key.
const MIN_PASSPHRASE_CHARS: usize = 12;

/// Asks once for an existing passphrase. `None` if no terminal or empty.
pub fn ask_passphrase(prompt: &str) -> Option<SecretText> {
    match rpassword::prompt_password(prompt) {
        Ok(text) if !text.is_empty() => Some(SecretText::new(text)),
        Ok(mut text) => {
            zeroize::Zeroize::zeroize(&mut text);
            None
        }
        Err(_) => None,
    }
}

/// Asks a custodian to choose a passphrase, twice, until both entries match.
pub fn new_passphrase(custodian: &str) -> Result<SecretText> {
    for _ in 0..3 {
        let first = rpassword::prompt_password(format!(
            "Custodian {custodian}: choose a passphrase for your share (at least {MIN_PASSPHRASE_CHARS} characters): "
        ))
        .map(SecretText::new)
        .context("passphrase custodians must type their passphrase on a terminal")?;
        if first.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
            note!("That passphrase is too short; try again.");
            continue;
        }
        let second = rpassword::prompt_password(format!("Custodian {custodian}: type it again: "))
            .map(SecretText::new)
            .context("passphrase custodians must type their passphrase on a terminal")?;
        if first.expose_secret() == second.expose_secret() {
            return Ok(first);
        }
        note!("The two entries differ; try again.");
    }
    bail!("custodian {custodian} did not confirm a passphrase after 3 tries; nothing was written")
}

/// Prompts every passphrase custodian for a new passphrase, in file order.
/// First, every plugin custodian's plugin program must be installed: a
/// missing one is found before anyone types a passphrase.
pub fn passphrases_for(custodians: &Custodians) -> Result<BTreeMap<String, SecretText>> {
    custodians.require_plugins()?;
    let mut passphrases = BTreeMap::new();
    for custodian in custodians.iter() {
        if matches!(custodian.key, CustodianKey::Passphrase) {
            let name = custodian.name.as_str();
            passphrases.insert(name.to_owned(), new_passphrase(name)?);
        }
    }
    Ok(passphrases)
}

/// Asks for confirmation. `--yes` proceeds without asking; without a
/// terminal to ask on, the command needs `--yes` (a script must say so, not
/// be assumed to agree).
pub fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::NoConsent);
    }
    match dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
    {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(CliError::Cancelled),
    }
}

/// age's callbacks: passphrase-protected SSH keys given with `-i`, and age
/// plugins (hardware tokens). Messages go to stderr; a PIN is read from the
/// terminal with echo off; questions are asked on stderr and answered at
/// the terminal. Without a terminal, questions get no answer (the plugin
/// then fails or skips, as it decides). What a plugin sends arrives here
/// cleaned up by `ceremony::plugin` and prefixed with its program's name.
#[derive(Clone, Copy)]
pub struct TerminalCallbacks;

fn terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

impl age::Callbacks for TerminalCallbacks {
    fn display_message(&self, message: &str) {
        note!("{message}");
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        if !terminal() {
            return None;
        }
        let mut items = vec![yes];
        items.extend(no);
        dialoguer::Select::new()
            .with_prompt(message)
            .items(&items)
            .default(0)
            .interact_opt()
            .ok()
            .flatten()
            .map(|choice| choice == 0)
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        if !terminal() {
            return None;
        }
        dialoguer::Input::<String>::new()
            .with_prompt(description)
            .interact_text()
            .ok()
    }

    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        rpassword::prompt_password(format!("{description}: "))
            .ok()
            .map(Into::into)
    }
}
