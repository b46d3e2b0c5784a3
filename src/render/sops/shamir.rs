//! Shamir's secret sharing as SOPS uses it for key groups (the scheme of HashiCorp Vault): each
//! group's keys hold one part, every byte of the data key a point of its own polynomial over
//! GF(2^8) (the AES field), the part's x coordinate in its last byte. Any `shamir_threshold`
//! parts give the key back: Lagrange interpolation at 0.

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0;
    while b != 0 {
        if b & 1 == 1 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    product
}

/// The inverse of a non-zero element: a^254, as the group has 255 elements.
fn inverse(a: u8) -> u8 {
    let (mut result, mut base, mut exponent) = (1, a, 254u8);
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        exponent >>= 1;
    }
    result
}

/// The secret the parts share; an error if they cannot be parts of one secret.
pub(super) fn combine(parts: &[&[u8]]) -> Result<Vec<u8>, &'static str> {
    let Some(len) = parts.first().map(|p| p.len()) else {
        return Err("no parts");
    };
    if parts.len() < 2 || len < 2 || parts.iter().any(|p| p.len() != len) {
        return Err("parts that do not belong together");
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    if xs.iter().enumerate().any(|(i, x)| xs[..i].contains(x)) {
        return Err("two parts with the same coordinate");
    }
    // Each part's weight at x = 0: the product of x_j / (x_i - x_j) over the other parts
    // (subtraction is XOR in this field).
    let weights: Vec<u8> = xs
        .iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1, |w, (_, &xj)| mul(w, mul(xj, inverse(xi ^ xj))))
        })
        .collect();
    Ok((0..len - 1)
        .map(|k| {
            parts
                .iter()
                .zip(&weights)
                .fold(0, |byte, (part, &w)| byte ^ mul(part[k], w))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SOPS does to split a secret (tests only): a random polynomial per byte.
    fn split(secret: &[u8], xs: &[u8], threshold: usize) -> Vec<Vec<u8>> {
        let coefficients: Vec<Vec<u8>> = secret
            .iter()
            .map(|&s| {
                let mut c = vec![s];
                c.extend((1..threshold).map(|_| fastrand::u8(..)));
                c
            })
            .collect();
        xs.iter()
            .map(|&x| {
                let mut part: Vec<u8> = coefficients
                    .iter()
                    .map(|c| c.iter().rev().fold(0, |acc, &k| mul(acc, x) ^ k))
                    .collect();
                part.push(x);
                part
            })
            .collect()
    }

    #[test]
    fn the_field_is_the_aes_field() {
        // The worked example of FIPS 197: {57} x {83} = {c1}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "{a}");
        }
    }

    #[test]
    fn any_threshold_of_parts_give_the_secret_back() {
        let secret: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
        let parts = split(&secret, &[7, 42, 200], 2);
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let chosen: Vec<&[u8]> = pair.iter().map(|&i| parts[i].as_slice()).collect();
            assert_eq!(combine(&chosen).unwrap(), secret);
        }
        let all: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        assert_eq!(combine(&all).unwrap(), secret);
        assert!(combine(&[parts[0].as_slice()]).is_err());
        assert!(combine(&[parts[0].as_slice(), parts[0].as_slice()]).is_err());
    }
}
