//! Reading a new password: from stdin when asked to, else from a prompt on the terminal, never
//! from the command line where `ps` and shell history would keep it.

use std::io::{self, BufRead, IsTerminal};

use secrecy::{ExposeSecret, SecretString};

/// The password for a new account.
///
/// # Errors
/// When stdin is empty or unreadable, the two prompted entries differ, or there is neither
/// `--password-stdin` nor a terminal to ask on.
pub(crate) fn read_new(from_stdin: bool) -> Result<SecretString, String> {
    let stdin = io::stdin();
    if from_stdin {
        return first_line(stdin.lock());
    }
    if stdin.is_terminal() {
        return prompt_twice();
    }
    Err(
        "no password: stdin is not a terminal, so pipe the password in with --password-stdin"
            .into(),
    )
}

/// The first line of the input, without its line ending.
fn first_line(mut input: impl BufRead) -> Result<SecretString, String> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"));
    // Wrapped at once, so the text is wiped on every path from here.
    let line = SecretString::from(line);
    if read? == 0 {
        return Err("--password-stdin: stdin is empty; pipe the password in".into());
    }
    let text = line.expose_secret();
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(SecretString::from(text))
}

/// Asks twice on the terminal and insists that both answers match.
fn prompt_twice() -> Result<SecretString, String> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(SecretString::from)
            .map_err(|e| format!("cannot read the password from the terminal: {e}"))
    };
    let first = ask("Password: ")?;
    let second = ask("Repeat the password: ")?;
    if first.expose_secret() != second.expose_secret() {
        return Err("the two passwords do not match".into());
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Result<String, String> {
        first_line(input.as_bytes()).map(|s| s.expose_secret().to_owned())
    }

    #[test]
    fn the_first_line_is_the_password_without_its_ending() {
        assert_eq!(read("pass word\nsecond line\n").unwrap(), "pass word");
        assert_eq!(read("crlf\r\n").unwrap(), "crlf");
        assert_eq!(read("no newline").unwrap(), "no newline");
        assert_eq!(read("  spaces kept  \n").unwrap(), "  spaces kept  ");
    }

    #[test]
    fn empty_stdin_is_an_error_and_an_empty_line_is_an_empty_password() {
        assert!(read("").unwrap_err().contains("stdin is empty"));
        assert_eq!(read("\n").unwrap(), "");
    }
}
