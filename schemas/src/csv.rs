//! A small RFC 4180 reader: enough for GenieACS CSV exports (quoted fields with doubled quotes,
//! commas and newlines inside quotes), with a bound on field length so a hostile file cannot make
//! one field grow without limit.

/// Longest field accepted, in bytes.
pub(crate) const MAX_FIELD: usize = 1 << 20;

/// Why a CSV document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CsvError {
    /// A quoted field was still open at the end of the input.
    UnterminatedQuote { line: usize },
    /// A field exceeded [`MAX_FIELD`].
    FieldTooLong { line: usize },
    /// A quote inside an unquoted field, or text after the closing quote of a field.
    StrayQuote { line: usize },
}

/// Splits `text` into records of fields.
pub(crate) fn records(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut in_quotes = false;
    let mut was_quoted = false;
    let mut after_quote = false;
    while let Some(c) = chars.next() {
        if field.len() > MAX_FIELD {
            return Err(CsvError::FieldTooLong { line });
        }
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        if after_quote && !matches!(c, ',' | '\n' | '\r') {
            return Err(CsvError::StrayQuote { line });
        }
        after_quote = false;
        match c {
            '"' if field.is_empty() && !was_quoted => {
                in_quotes = true;
                was_quoted = true;
            }
            '"' => return Err(CsvError::StrayQuote { line }),
            ',' => {
                record.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut record));
                was_quoted = false;
                line += 1;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(CsvError::UnterminatedQuote { line });
    }
    if !field.is_empty() || !record.is_empty() || was_quoted {
        record.push(field);
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_commas_quotes_and_newlines() {
        let r = records("a,\"b,\"\"c\"\"\nd\",e\r\n1,2,3").unwrap();
        assert_eq!(r, vec![vec!["a", "b,\"c\"\nd", "e"], vec!["1", "2", "3"]]);
    }

    #[test]
    fn broken_quoting_is_an_error_not_a_panic() {
        assert_eq!(
            records("a,\"b"),
            Err(CsvError::UnterminatedQuote { line: 1 })
        );
        assert_eq!(records("a,\"b\"x"), Err(CsvError::StrayQuote { line: 1 }));
    }

    #[test]
    fn empty_input_has_no_records() {
        assert!(records("").unwrap().is_empty());
    }
}
