//! One encrypted value, `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`: parsed strictly,
//! opened with the data key and its additional data (the value's path, `a:b:c:`), and turned
//! back into the type SOPS recorded.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

use super::tree::Tree;

/// SOPS draws a 32-byte IV for every value (AES-GCM with a non-standard nonce size).
const IV_BYTES: usize = 32;
const TAG_BYTES: usize = 16;

/// The data key of a file: 32 bytes, wiped when dropped.
pub(super) type DataKey = secrecy::zeroize::Zeroizing<[u8; 32]>;

/// What SOPS recorded as the plaintext's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Str,
    Int,
    Float,
    Bool,
    Bytes,
    Time,
    Comment,
}

/// A parsed `ENC[...]` value, not yet opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Enc {
    data: Vec<u8>,
    iv: [u8; IV_BYTES],
    tag: [u8; TAG_BYTES],
    pub kind: Kind,
}

/// Go's standard base64, which ignores stray bits in the last character.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Whether a string is meant as an encrypted value (then [`Enc::parse`] must accept it).
pub(super) fn looks_encrypted(text: &str) -> bool {
    text.starts_with("ENC[")
}

impl Enc {
    /// Parses an `ENC[...]` value; the error says why in a few words, without the value.
    pub fn parse(text: &str) -> Result<Enc, String> {
        let inner = text
            .strip_prefix("ENC[")
            .ok_or("is not an encrypted value (ENC[...])")?;
        let Some(inner) = inner.strip_suffix(']') else {
            return Err("is a truncated ENC[...] value (it does not end with `]`)".into());
        };
        let mut fields = inner.split(',');
        let cipher = fields.next().unwrap_or_default();
        if cipher != "AES256_GCM" {
            let shown: String = cipher.chars().take(20).collect();
            return Err(format!(
                "has an unknown cipher `{shown}`: SOPS writes AES256_GCM"
            ));
        }
        let mut field = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name)?.strip_prefix(':'))
                .ok_or_else(|| {
                    format!("is a truncated ENC[...] value (no `{name}:` where expected)")
                })
        };
        let (data, iv, tag, kind) = (field("data")?, field("iv")?, field("tag")?, field("type")?);
        if fields.next().is_some() {
            return Err("is an ENC[...] value with fields after `type:`".into());
        }
        let decode = |name: &str, b64: &str| {
            BASE64
                .decode(b64)
                .map_err(|_| format!("has a `{name}` that is not base64"))
        };
        let data = decode("data", data)?;
        let iv = decode("iv", iv)?
            .try_into()
            .map_err(|_| format!("has an iv that is not {IV_BYTES} bytes"))?;
        let tag = decode("tag", tag)?
            .try_into()
            .map_err(|_| format!("has a tag that is not {TAG_BYTES} bytes"))?;
        let kind = Kind::parse(kind).ok_or_else(|| {
            let shown: String = kind.chars().take(20).collect();
            format!("has an unknown type `{shown}`")
        })?;
        Ok(Enc {
            data,
            iv,
            tag,
            kind,
        })
    }

    /// Decrypts with the data key and `aad`, the additional data the value was sealed with.
    /// None when it does not open: another key or path, or a changed value.
    pub fn open_bytes(&self, key: &DataKey, aad: &[u8]) -> Option<Vec<u8>> {
        let cipher = AesGcm::<Aes256, U32>::new(key.as_slice().into());
        let mut buffer = self.data.clone();
        let nonce = Nonce::<U32>::from_slice(&self.iv);
        cipher
            .decrypt_in_place_detached(nonce, aad, &mut buffer, Tag::from_slice(&self.tag))
            .ok()?;
        Some(buffer)
    }

    /// Decrypts and types the plaintext; the error never holds the plaintext.
    pub fn open(&self, key: &DataKey, aad: &[u8]) -> Result<Tree, String> {
        let bytes = self.open_bytes(key, aad).ok_or(
            "does not decrypt with the file's data key: it was changed, or moved from another path",
        )?;
        typed(self.kind, &bytes)
    }
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "str" => Kind::Str,
            "int" => Kind::Int,
            "float" => Kind::Float,
            "bool" => Kind::Bool,
            "bytes" => Kind::Bytes,
            "time" => Kind::Time,
            "comment" => Kind::Comment,
            _ => return None,
        })
    }
}

/// The plaintext as the type SOPS recorded, read as Go reads it (`strconv`).
fn typed(kind: Kind, bytes: &[u8]) -> Result<Tree, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "decrypts to text that is not UTF-8")?;
    let wrong = |what: &str| format!("decrypts to no {what}, though its type says so");
    Ok(match kind {
        Kind::Str | Kind::Bytes | Kind::Time => Tree::Str(text.to_string()),
        Kind::Int => Tree::Int(text.parse().map_err(|_| wrong("integer"))?),
        Kind::Float => Tree::Float(text.parse().map_err(|_| wrong("number"))?),
        Kind::Bool => Tree::Bool(go_bool(text).ok_or_else(|| wrong("boolean"))?),
        Kind::Comment => return Err("is an encrypted comment where a value belongs".into()),
    })
}

/// Go's `strconv.ParseBool`.
fn go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "ENC[AES256_GCM,data:DBn45o6Cxw==,\
        iv:w/zp7gWWA9DOzwmZHNffj1bf9DdN+N9tIcHwAl83MFw=,tag:M0p4bKvgv0XOpHJ19GFk5Q==,type:str]";

    #[test]
    fn a_value_parses_into_its_parts() {
        let enc = Enc::parse(SAMPLE).unwrap();
        assert_eq!(enc.kind, Kind::Str);
        assert_eq!(enc.data.len(), 7);
        assert_eq!(enc.iv.len(), 32);
    }

    #[test]
    fn malformed_values_say_why() {
        let cases = [
            (&SAMPLE[..SAMPLE.len() - 1], "truncated"),
            (&SAMPLE[..40], "truncated"),
            ("ENC[AES256_GCM,data:AA==]", "no `iv:`"),
            (
                "ENC[AES128_CBC,data:AA==,iv:AA==,tag:AA==,type:str]",
                "unknown cipher `AES128_CBC`",
            ),
            (
                "ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]",
                "`data` that is not base64",
            ),
            (
                "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
                "iv that is not 32",
            ),
            ("plain", "not an encrypted value"),
        ];
        for (text, why) in cases {
            let err = Enc::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let unknown = SAMPLE.replace("type:str", "type:duration");
        assert!(
            Enc::parse(&unknown)
                .unwrap_err()
                .contains("unknown type `duration`")
        );
    }

    #[test]
    fn values_seal_and_open_with_their_path_only() {
        let key = DataKey::new([7; 32]);
        let enc = seal(&key, b"hunter2", b"stringData:password:", Kind::Str);
        let opened = enc.open(&key, b"stringData:password:").unwrap();
        assert_eq!(opened, Tree::Str("hunter2".into()));
        let err = enc.open(&key, b"stringData:other:").err().unwrap();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            enc.open(&DataKey::new([8; 32]), b"stringData:password:")
                .is_err()
        );
    }

    #[test]
    fn types_read_as_go_reads_them() {
        assert_eq!(typed(Kind::Int, b"-42").unwrap(), Tree::Int(-42));
        assert_eq!(typed(Kind::Float, b"1.5").unwrap(), Tree::Float(1.5));
        assert_eq!(typed(Kind::Bool, b"True").unwrap(), Tree::Bool(true));
        assert_eq!(typed(Kind::Bool, b"F").unwrap(), Tree::Bool(false));
        assert_eq!(typed(Kind::Bytes, b"raw").unwrap(), Tree::Str("raw".into()));
        let err = typed(Kind::Int, b"4x2").unwrap_err();
        assert!(err.contains("no integer") && !err.contains("4x2"), "{err}");
        assert!(typed(Kind::Comment, b"note").is_err());
        assert!(typed(Kind::Str, &[0xff]).is_err());
    }

    /// What SOPS does to encrypt (tests only: driftless never encrypts).
    pub(in crate::render::sops) fn seal(
        key: &DataKey,
        plain: &[u8],
        aad: &[u8],
        kind: Kind,
    ) -> Enc {
        let cipher = AesGcm::<Aes256, U32>::new(key.as_slice().into());
        let iv = [3u8; IV_BYTES];
        let mut data = plain.to_vec();
        let tag = cipher
            .encrypt_in_place_detached(Nonce::<U32>::from_slice(&iv), aad, &mut data)
            .unwrap();
        Enc {
            data,
            iv,
            tag: tag.into(),
            kind,
        }
    }
}
