//! An OCI artifact of manifests (`flux push artifact`, or any image with a tar+gzip layer):
//! its manifest, the one layer chosen by media type, unpacked in memory under the archive
//! rules. The manifest digest is the artifact's revision.

use oci_client::Reference;
use oci_client::manifest::OciDescriptor;

use super::archive::{self, Entry, Limits};
use super::client::Remote;
use super::{RemoteError, Result};

/// The layer `flux push artifact` writes.
pub const FLUX_LAYER: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// A plain image layer, as any OCI tool writes one.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// An artifact pulled and unpacked.
#[derive(Debug)]
pub struct Artifact {
    /// The manifest's digest.
    pub digest: String,
    pub files: Vec<Entry>,
}

/// `oci://host/repo:tag` or `oci://host/repo@sha256:...` as a reference.
pub fn reference(spec: &str) -> Result<Reference> {
    let rest = spec
        .strip_prefix("oci://")
        .ok_or_else(|| RemoteError::new(format!("{spec}: expected oci://HOST/REPOSITORY:TAG")))?;
    let explicit = rest.contains('@') || rest.rsplit('/').next().is_some_and(|l| l.contains(':'));
    if !explicit {
        return Err(RemoteError::new(format!(
            "{spec}: name a tag (:v1.2.3) or a digest (@sha256:...)"
        )));
    }
    rest.parse::<Reference>()
        .map_err(|e| RemoteError::new(format!("{spec}: not an OCI reference: {e}")))
}

/// The layer to unpack: the one of `wanted`'s media type, else Flux's, else the only tar+gzip.
fn choose<'a>(layers: &'a [OciDescriptor], wanted: Option<&str>) -> Result<&'a OciDescriptor> {
    let types = || {
        let types: Vec<&str> = layers.iter().map(|l| l.media_type.as_str()).collect();
        match types.is_empty() {
            true => "none".to_string(),
            false => types.join(", "),
        }
    };
    let of = |media: &str| -> Vec<&'a OciDescriptor> {
        layers.iter().filter(|l| l.media_type == media).collect()
    };
    if let Some(wanted) = wanted {
        return match of(wanted)[..] {
            [one] => Ok(one),
            [] => Err(RemoteError::new(format!(
                "no layer of media type {wanted} (layers: {})",
                types()
            ))),
            _ => Err(RemoteError::new(format!(
                "several layers of media type {wanted}: cannot tell which to use"
            ))),
        };
    }
    if let Some(flux) = of(FLUX_LAYER).first().copied() {
        return Ok(flux);
    }
    let tarballs: Vec<&OciDescriptor> = layers
        .iter()
        .filter(|l| l.media_type.ends_with("tar+gzip"))
        .collect();
    match tarballs[..] {
        [one] => Ok(one),
        [] => Err(RemoteError::new(format!(
            "no tar+gzip layer (layers: {}): push one with `flux push artifact`, or name the \
             media type (--oci-layer-media-type)",
            types()
        ))),
        _ => Err(RemoteError::new(format!(
            "several tar+gzip layers ({}): name the one to use (--oci-layer-media-type)",
            types()
        ))),
    }
}

impl Remote {
    /// Pulls `reference`; errors say what of it failed (the caller names it).
    pub async fn artifact(
        &self,
        reference: &Reference,
        layer: Option<&str>,
        limits: &Limits,
    ) -> Result<Artifact> {
        let (manifest, digest) = self.oci_manifest(reference).await?;
        let chosen = choose(&manifest.layers, layer)?;
        let bytes = self.oci_blob(reference, chosen).await?;
        let files = archive::unpack_tar_gz(&bytes, limits)
            .map_err(|e| RemoteError::new(format!("layer {}: {e}", chosen.digest)))?;
        Ok(Artifact { digest, files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(media: &str) -> OciDescriptor {
        OciDescriptor {
            media_type: media.into(),
            ..OciDescriptor::default()
        }
    }

    #[test]
    fn references_name_a_tag_or_a_digest() {
        assert!(reference("oci://r.example.com/app/manifests:v1").is_ok());
        let pinned = format!("oci://127.0.0.1:5000/app@sha256:{}", "a".repeat(64));
        assert!(reference(&pinned).is_ok());
        let err = reference("oci://r.example.com:5000/app")
            .unwrap_err()
            .to_string();
        assert!(err.contains("name a tag"), "{err}");
        assert!(reference("https://r/app:v1").is_err());
    }

    #[test]
    fn layers_are_chosen_by_media_type() {
        let flux = [layer("application/x"), layer(FLUX_LAYER)];
        assert_eq!(choose(&flux, None).unwrap().media_type, FLUX_LAYER);
        let plain = [layer(OCI_LAYER), layer("application/json")];
        assert_eq!(choose(&plain, None).unwrap().media_type, OCI_LAYER);
        let two = [layer(OCI_LAYER), layer("application/vnd.other.tar+gzip")];
        assert!(
            choose(&two, None)
                .unwrap_err()
                .to_string()
                .contains("several")
        );
        assert_eq!(
            choose(&two, Some("application/vnd.other.tar+gzip"))
                .unwrap()
                .media_type,
            "application/vnd.other.tar+gzip"
        );
        let none = [layer("application/json")];
        let err = choose(&none, None).unwrap_err().to_string();
        assert!(
            err.contains("no tar+gzip layer (layers: application/json)"),
            "{err}"
        );
        let err = choose(&none, Some(FLUX_LAYER)).unwrap_err().to_string();
        assert!(err.contains("no layer of media type"), "{err}");
    }
}
