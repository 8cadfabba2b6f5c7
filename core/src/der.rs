//! A minimal DER (X.690) reader and writer, enough for X.509 certificates: the SNS signing
//! certificate an Amazon Pay IPN names (which key verifies the message, whether the certificate
//! is valid now) and, in the sandbox, the certificate authority that issues it.
//!
//! Only what certificates use: single-byte tags, definite lengths (short and long form, at most
//! four length bytes), no BER indefinite forms. Anything else is refused rather than guessed.
//! Signatures are not checked here (that is WebCrypto's job on the edge): this module only says
//! which bytes were signed, with which algorithm, and what the signature is.

use crate::jst::UnixMillis;

pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_BIT_STRING: u8 = 0x03;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_UTF8_STRING: u8 = 0x0c;
pub const TAG_PRINTABLE_STRING: u8 = 0x13;
pub const TAG_UTC_TIME: u8 = 0x17;
pub const TAG_GENERALIZED_TIME: u8 = 0x18;
pub const TAG_SEQUENCE: u8 = 0x30;
pub const TAG_SET: u8 = 0x31;
/// `[0] EXPLICIT` (the certificate version).
pub const TAG_CONTEXT_0: u8 = 0xa0;

/// `sha1WithRSAEncryption` (1.2.840.113549.1.1.5), content bytes.
pub const OID_SHA1_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
/// `sha256WithRSAEncryption` (1.2.840.113549.1.1.11).
pub const OID_SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// `sha384WithRSAEncryption` (1.2.840.113549.1.1.12).
pub const OID_SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
/// `sha512WithRSAEncryption` (1.2.840.113549.1.1.13).
pub const OID_SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
/// `rsaEncryption` (1.2.840.113549.1.1.1): the key type in a SubjectPublicKeyInfo.
pub const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `commonName` (2.5.4.3).
pub const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Why bytes are not a certificate this module can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DerError {
    /// Fewer bytes than a header or length announced.
    Truncated,
    /// Bytes left after the outermost element.
    TrailingBytes,
    /// A multi-byte tag, an indefinite length, a length that is not minimal or too large.
    Unsupported(&'static str),
    /// A different element than the certificate structure requires here.
    Unexpected { wanted: &'static str, tag: u8 },
    /// A time that is not `YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSSZ`.
    BadTime,
    /// A signature algorithm other than RSA PKCS#1 v1.5 with SHA-1/256/384/512, or the outer
    /// and inner algorithm differ.
    UnsupportedAlgorithm,
    /// PEM armour missing or its base64 is broken.
    BadPem,
}

impl std::fmt::Display for DerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DerError::Truncated => write!(f, "DER: truncated"),
            DerError::TrailingBytes => write!(f, "DER: trailing bytes"),
            DerError::Unsupported(what) => write!(f, "DER: unsupported {what}"),
            DerError::Unexpected { wanted, tag } => {
                write!(f, "DER: expected {wanted}, found tag 0x{tag:02x}")
            }
            DerError::BadTime => write!(f, "DER: bad time"),
            DerError::UnsupportedAlgorithm => write!(f, "certificate: unsupported algorithm"),
            DerError::BadPem => write!(f, "PEM: not a certificate"),
        }
    }
}

/// One element: its tag, its content, and all of its bytes (header included: what a
/// signature over a `TBSCertificate` covers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and what follows.
pub fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(DerError::Unsupported("multi-byte tag"));
    }
    let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 {
            return Err(DerError::Unsupported("indefinite length"));
        }
        if count > 4 {
            return Err(DerError::Unsupported("length over 4 bytes"));
        }
        if rest.len() < count {
            return Err(DerError::Truncated);
        }
        let (bytes, rest) = rest.split_at(count);
        if bytes[0] == 0 {
            return Err(DerError::Unsupported("non-minimal length"));
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 {
            return Err(DerError::Unsupported("non-minimal length"));
        }
        (len, rest)
    };
    if rest.len() < len {
        return Err(DerError::Truncated);
    }
    let header = input.len() - rest.len();
    let (content, after) = rest.split_at(len);
    Ok((
        Tlv {
            tag,
            content,
            raw: &input[..header + len],
        },
        after,
    ))
}

/// Reads one element that must carry `tag`.
fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    wanted: &'static str,
) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(DerError::Unexpected {
            wanted,
            tag: tlv.tag,
        });
    }
    Ok((tlv, rest))
}

/// The element types a certificate signature may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
}

impl SignatureAlgorithm {
    fn from_oid(oid: &[u8]) -> Option<SignatureAlgorithm> {
        match oid {
            o if o == OID_SHA1_WITH_RSA => Some(SignatureAlgorithm::RsaSha1),
            o if o == OID_SHA256_WITH_RSA => Some(SignatureAlgorithm::RsaSha256),
            o if o == OID_SHA384_WITH_RSA => Some(SignatureAlgorithm::RsaSha384),
            o if o == OID_SHA512_WITH_RSA => Some(SignatureAlgorithm::RsaSha512),
            _ => None,
        }
    }

    pub fn oid(self) -> &'static [u8] {
        match self {
            SignatureAlgorithm::RsaSha1 => OID_SHA1_WITH_RSA,
            SignatureAlgorithm::RsaSha256 => OID_SHA256_WITH_RSA,
            SignatureAlgorithm::RsaSha384 => OID_SHA384_WITH_RSA,
            SignatureAlgorithm::RsaSha512 => OID_SHA512_WITH_RSA,
        }
    }

    /// The WebCrypto hash name (`RSASSA-PKCS1-v1_5` with this hash).
    pub fn webcrypto_hash(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => "SHA-1",
            SignatureAlgorithm::RsaSha256 => "SHA-256",
            SignatureAlgorithm::RsaSha384 => "SHA-384",
            SignatureAlgorithm::RsaSha512 => "SHA-512",
        }
    }
}

/// The parts of an X.509 certificate a verifier needs, borrowed from its DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The whole `TBSCertificate` element: what the issuer signed.
    pub tbs: &'a [u8],
    pub serial: &'a [u8],
    pub signature_algorithm: SignatureAlgorithm,
    /// The issuer's signature over `tbs` (the BIT STRING's bytes, unused-bits octet removed).
    pub signature: &'a [u8],
    /// The issuer and subject `Name` elements (raw DER, compared byte for byte).
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub not_before: UnixMillis,
    pub not_after: UnixMillis,
    /// The whole `SubjectPublicKeyInfo` element (what WebCrypto imports as `spki`).
    pub spki: &'a [u8],
}

impl Certificate<'_> {
    /// Whether `now` lies within notBefore..=notAfter.
    pub fn valid_at(&self, now: UnixMillis) -> bool {
        self.not_before.0 <= now.0 && now.0 <= self.not_after.0
    }

    /// Whether the subject's public key is an RSA key (the only kind SNS uses).
    pub fn has_rsa_key(&self) -> bool {
        read_tlv(self.spki)
            .and_then(|(spki, _)| expect(spki.content, TAG_SEQUENCE, "AlgorithmIdentifier"))
            .and_then(|(alg, _)| expect(alg.content, TAG_OID, "OID"))
            .is_ok_and(|(oid, _)| oid.content == OID_RSA_ENCRYPTION)
    }
}

fn algorithm(input: &[u8]) -> Result<(SignatureAlgorithm, &[u8]), DerError> {
    let (seq, rest) = expect(input, TAG_SEQUENCE, "AlgorithmIdentifier")?;
    let (oid, params) = expect(seq.content, TAG_OID, "OID")?;
    // Parameters: NULL or absent for the RSA PKCS#1 v1.5 algorithms.
    match read_tlv(params) {
        Err(DerError::Truncated) if params.is_empty() => {}
        Ok((p, [])) if p.tag == TAG_NULL && p.content.is_empty() => {}
        _ => return Err(DerError::UnsupportedAlgorithm),
    }
    let alg = SignatureAlgorithm::from_oid(oid.content).ok_or(DerError::UnsupportedAlgorithm)?;
    Ok((alg, rest))
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
        }
        _ => None,
    }
}

/// `UTCTime` (`YYMMDDHHMMSSZ`, years 1950–2049 per RFC 5280) or `GeneralizedTime`
/// (`YYYYMMDDHHMMSSZ`) as Unix milliseconds.
pub fn parse_time(tlv: &Tlv<'_>) -> Result<UnixMillis, DerError> {
    let s = tlv.content;
    let (year, rest) = match (tlv.tag, s.len()) {
        (TAG_UTC_TIME, 13) => {
            let yy = two_digits(&s[..2]).ok_or(DerError::BadTime)? as i32;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        (TAG_GENERALIZED_TIME, 15) => {
            let hi = two_digits(&s[..2]).ok_or(DerError::BadTime)? as i32;
            let lo = two_digits(&s[2..4]).ok_or(DerError::BadTime)? as i32;
            (hi * 100 + lo, &s[4..])
        }
        _ => return Err(DerError::BadTime),
    };
    if rest.last() != Some(&b'Z') {
        return Err(DerError::BadTime);
    }
    let field = |i: usize| two_digits(&rest[i..i + 2]).ok_or(DerError::BadTime);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    let month_ok = (1..=12).contains(&month);
    if !month_ok
        || day < 1
        || day > u32::from(crate::jst::days_in_month(year, month as u8))
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(DerError::BadTime);
    }
    let days = crate::jst::days_from_civil(year, month as u8, day as u8);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Ok(UnixMillis(secs * 1000))
}

/// Reads an X.509 certificate (DER). Checks the structure, not the signature.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate<'_>, DerError> {
    let (cert, rest) = expect(der, TAG_SEQUENCE, "Certificate")?;
    if !rest.is_empty() {
        return Err(DerError::TrailingBytes);
    }
    let (tbs, after_tbs) = expect(cert.content, TAG_SEQUENCE, "TBSCertificate")?;
    let (outer_alg, after_alg) = algorithm(after_tbs)?;
    let (sig, after_sig) = expect(after_alg, TAG_BIT_STRING, "signature")?;
    if !after_sig.is_empty() {
        return Err(DerError::TrailingBytes);
    }
    let signature = match sig.content.split_first() {
        Some((0, bits)) => bits,
        _ => return Err(DerError::Unsupported("signature with unused bits")),
    };

    let mut fields = tbs.content;
    if let Ok((version, rest)) = read_tlv(fields)
        && version.tag == TAG_CONTEXT_0
    {
        fields = rest;
    }
    let (serial, rest) = expect(fields, TAG_INTEGER, "serialNumber")?;
    let (inner_alg, rest) = algorithm(rest)?;
    if inner_alg != outer_alg {
        return Err(DerError::UnsupportedAlgorithm);
    }
    let (issuer, rest) = expect(rest, TAG_SEQUENCE, "issuer")?;
    let (validity, rest) = expect(rest, TAG_SEQUENCE, "validity")?;
    let (not_before, v_rest) = read_tlv(validity.content)?;
    let (not_after, v_end) = read_tlv(v_rest)?;
    if !v_end.is_empty() {
        return Err(DerError::TrailingBytes);
    }
    let (subject, rest) = expect(rest, TAG_SEQUENCE, "subject")?;
    let (spki, _extensions) = expect(rest, TAG_SEQUENCE, "subjectPublicKeyInfo")?;
    Ok(Certificate {
        tbs: tbs.raw,
        serial: serial.content,
        signature_algorithm: outer_alg,
        signature,
        issuer: issuer.raw,
        subject: subject.raw,
        not_before: parse_time(&not_before)?,
        not_after: parse_time(&not_after)?,
        spki: spki.raw,
    })
}

/// The DER inside the first `-----BEGIN CERTIFICATE-----` block of `pem`.
pub fn certificate_der_from_pem(pem: &str) -> Result<Vec<u8>, DerError> {
    let start_marker = "-----BEGIN CERTIFICATE-----";
    let end_marker = "-----END CERTIFICATE-----";
    let start = pem.find(start_marker).ok_or(DerError::BadPem)? + start_marker.len();
    let len = pem[start..].find(end_marker).ok_or(DerError::BadPem)?;
    let body: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    crate::amazon::signing::base64_decode(&body).ok_or(DerError::BadPem)
}

/// PEM armour (64-column base64) around a certificate's DER.
pub fn certificate_pem(der: &[u8]) -> String {
    let b64 = crate::amazon::signing::base64_encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

// ---------------------------------------------------------------------------------------------
// Writing (the sandbox issues its SNS certificate with these; tests build certificates with them)

/// One element: tag, definite minimal length, content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already encoded elements.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

/// A positive INTEGER from big-endian magnitude bytes (a leading zero added when the top bit
/// is set, leading zeros dropped otherwise).
pub fn positive_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(&trimmed);
    tlv(TAG_INTEGER, &content)
}

/// `AlgorithmIdentifier { alg, NULL }`.
pub fn algorithm_identifier(alg: SignatureAlgorithm) -> Vec<u8> {
    sequence(&[&tlv(TAG_OID, alg.oid()), &tlv(TAG_NULL, &[])])
}

/// A `Name` with one `commonName` (UTF8String).
pub fn common_name(cn: &str) -> Vec<u8> {
    let atv = sequence(&[
        &tlv(TAG_OID, OID_COMMON_NAME),
        &tlv(TAG_UTF8_STRING, cn.as_bytes()),
    ]);
    sequence(&[&tlv(TAG_SET, &atv)])
}

/// `GeneralizedTime` for `t` (whole seconds, UTC).
pub fn generalized_time(t: UnixMillis) -> Vec<u8> {
    let secs = t.0.div_euclid(1000);
    let (y, m, d) = crate::jst::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let text = format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    );
    tlv(TAG_GENERALIZED_TIME, text.as_bytes())
}

/// What a certificate says, before it is signed.
pub struct TbsFields<'a> {
    pub serial: &'a [u8],
    pub algorithm: SignatureAlgorithm,
    pub issuer_cn: &'a str,
    pub subject_cn: &'a str,
    pub not_before: UnixMillis,
    pub not_after: UnixMillis,
    /// The subject's `SubjectPublicKeyInfo` DER.
    pub spki: &'a [u8],
}

/// The `TBSCertificate` DER (version 3, no extensions) the issuer signs.
pub fn tbs_certificate(f: &TbsFields<'_>) -> Vec<u8> {
    sequence(&[
        &tlv(TAG_CONTEXT_0, &tlv(TAG_INTEGER, &[2])),
        &positive_integer(f.serial),
        &algorithm_identifier(f.algorithm),
        &common_name(f.issuer_cn),
        &sequence(&[
            &generalized_time(f.not_before),
            &generalized_time(f.not_after),
        ]),
        &common_name(f.subject_cn),
        f.spki,
    ])
}

/// The certificate: `tbs`, the algorithm, and the issuer's `signature` over `tbs`.
pub fn certificate(tbs: &[u8], algorithm: SignatureAlgorithm, signature: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(signature);
    sequence(&[
        tbs,
        &algorithm_identifier(algorithm),
        &tlv(TAG_BIT_STRING, &bits),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A made-up RSA SubjectPublicKeyInfo shape (the reader does not look inside the key).
    fn fake_spki() -> Vec<u8> {
        let key = sequence(&[
            &positive_integer(&[0xc5; 64]),
            &positive_integer(&[1, 0, 1]),
        ]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(&key);
        sequence(&[
            &sequence(&[&tlv(TAG_OID, OID_RSA_ENCRYPTION), &tlv(TAG_NULL, &[])]),
            &tlv(TAG_BIT_STRING, &bits),
        ])
    }

    fn sample(alg: SignatureAlgorithm, nb: i64, na: i64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let spki = fake_spki();
        let tbs = tbs_certificate(&TbsFields {
            serial: &[0x01, 0x02, 0x03],
            algorithm: alg,
            issuer_cn: "kessai sandbox SNS CA",
            subject_cn: "sns.ap-northeast-1.amazonaws.com",
            not_before: UnixMillis(nb),
            not_after: UnixMillis(na),
            spki: &spki,
        });
        let sig = vec![0x5a; 128];
        (certificate(&tbs, alg, &sig), tbs, spki)
    }

    #[test]
    fn reads_back_what_was_written() {
        let (der, tbs, spki) = sample(
            SignatureAlgorithm::RsaSha256,
            1_700_000_000_000,
            1_800_000_000_000,
        );
        let cert = parse_certificate(&der).expect("parses");
        assert_eq!(cert.tbs, tbs.as_slice());
        assert_eq!(cert.spki, spki.as_slice());
        assert_eq!(cert.signature, &[0x5a; 128][..]);
        assert_eq!(cert.signature_algorithm, SignatureAlgorithm::RsaSha256);
        assert_eq!(cert.serial, &[1, 2, 3]);
        assert_eq!(cert.not_before, UnixMillis(1_700_000_000_000));
        assert_eq!(cert.not_after, UnixMillis(1_800_000_000_000));
        assert_eq!(cert.issuer, common_name("kessai sandbox SNS CA").as_slice());
        assert!(cert.has_rsa_key());
        assert!(cert.valid_at(UnixMillis(1_750_000_000_000)));
        assert!(!cert.valid_at(UnixMillis(1_699_999_999_999)));
        assert!(!cert.valid_at(UnixMillis(1_800_000_000_001)));
    }

    #[test]
    fn pem_round_trip() {
        let (der, _, _) = sample(SignatureAlgorithm::RsaSha1, 0, 1_000_000);
        let pem = certificate_pem(&der);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(certificate_der_from_pem(&pem).expect("pem"), der);
        assert_eq!(
            certificate_der_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            Err(DerError::BadPem)
        );
    }

    #[test]
    fn utc_time_follows_rfc5280_century_rule() {
        let t = |s: &str| {
            parse_time(&Tlv {
                tag: TAG_UTC_TIME,
                content: s.as_bytes(),
                raw: &[],
            })
        };
        assert_eq!(t("700101000000Z"), Ok(UnixMillis(0)));
        assert_eq!(t("491231235959Z"), Ok(UnixMillis(2_524_607_999_000)));
        assert_eq!(t("700101000000"), Err(DerError::BadTime));
        assert_eq!(t("701301000000Z"), Err(DerError::BadTime));
        assert_eq!(t("700230000000Z"), Err(DerError::BadTime));
    }

    #[test]
    fn refuses_other_algorithms_and_mismatches() {
        let (der, _, _) = sample(SignatureAlgorithm::RsaSha256, 0, 1000);
        // md5WithRSAEncryption (…1.1.4) instead of sha256 in both places.
        let mut md5 = der.clone();
        for i in 0..md5.len() - OID_SHA256_WITH_RSA.len() {
            if &md5[i..i + OID_SHA256_WITH_RSA.len()] == OID_SHA256_WITH_RSA {
                md5[i + OID_SHA256_WITH_RSA.len() - 1] = 0x04;
            }
        }
        assert_eq!(parse_certificate(&md5), Err(DerError::UnsupportedAlgorithm));
        // The outer algorithm differs from the signed one.
        let cert = parse_certificate(&der).expect("parses");
        let other = certificate(cert.tbs, SignatureAlgorithm::RsaSha1, cert.signature);
        assert_eq!(
            parse_certificate(&other),
            Err(DerError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn refuses_ber_forms() {
        assert_eq!(
            read_tlv(&[0x30, 0x80, 0, 0]).map(|_| ()),
            Err(DerError::Unsupported("indefinite length"))
        );
        assert_eq!(
            read_tlv(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).map(|_| ()),
            Err(DerError::Unsupported("non-minimal length"))
        );
        assert_eq!(
            read_tlv(&[0x1f, 0x01, 0x00]).map(|_| ()),
            Err(DerError::Unsupported("multi-byte tag"))
        );
    }

    proptest! {
        #[test]
        fn tlv_round_trips(tag in 0u8..0x1f, content in proptest::collection::vec(any::<u8>(), 0..600)) {
            let enc = tlv(tag, &content);
            let (back, rest) = read_tlv(&enc).expect("reads");
            prop_assert_eq!(back.tag, tag);
            prop_assert_eq!(back.content, content.as_slice());
            prop_assert_eq!(back.raw, enc.as_slice());
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn times_round_trip(secs in 0i64..4_102_444_800) {
            let enc = generalized_time(UnixMillis(secs * 1000));
            let (back, _) = read_tlv(&enc).expect("reads");
            prop_assert_eq!(parse_time(&back), Ok(UnixMillis(secs * 1000)));
        }

        /// Cutting a certificate anywhere, or flipping any byte of its structure, never panics
        /// and never yields the same certificate silently.
        #[test]
        fn damaged_certificates_are_refused_or_differ(cut in 1usize..200, flip in 0usize..400, bit in 0u8..8) {
            let (der, _, _) = sample(SignatureAlgorithm::RsaSha256, 1_000_000, 2_000_000);
            let cut = cut.min(der.len() - 1);
            prop_assert!(parse_certificate(&der[..der.len() - cut]).is_err());
            let mut bad = der.clone();
            let i = flip % bad.len();
            bad[i] ^= 1 << bit;
            let good = parse_certificate(&der).expect("parses");
            if let Ok(c) = parse_certificate(&bad) {
                prop_assert_ne!(c, good);
            }
        }
    }
}
