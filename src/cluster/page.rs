//! One page of a LIST, read item by item: each object is parsed on its own and handed out, so a
//! page is never held as a tree (a parsed page takes several times its JSON text, and a pass
//! reads a page of several kinds at once).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What a list item lacks: the kind of the page it came in (`apiVersion`, `kind`).
pub struct ItemKind<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
}

/// Parses a LIST response, calling `each` with every item (its `apiVersion` and `kind` put
/// back) in order; returns the continue token, if the list goes on.
pub fn read_page(
    text: &str,
    types: &ItemKind<'_>,
    each: &mut dyn FnMut(Value),
) -> serde_json::Result<Option<String>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let token = Page { types, each }.deserialize(&mut de)?;
    de.end()?;
    Ok(token)
}

struct Page<'p, 'a> {
    types: &'p ItemKind<'a>,
    each: &'p mut dyn FnMut(Value),
}

impl<'de> DeserializeSeed<'de> for Page<'_, '_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Page<'_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "items" => map.next_value_seed(Items {
                    types: self.types,
                    each: &mut *self.each,
                })?,
                "metadata" => token = map.next_value::<ListMeta>()?.token,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(token.filter(|t| !t.is_empty()))
    }
}

#[derive(serde::Deserialize)]
struct ListMeta {
    #[serde(rename = "continue")]
    token: Option<String>,
}

struct Items<'p, 'a> {
    types: &'p ItemKind<'a>,
    each: &'p mut dyn FnMut(Value),
}

impl<'de> DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // `any`, not `seq`: an empty list may come as `null`.
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(mut item) = seq.next_element::<Value>()? {
            let Some(fields) = item.as_object_mut() else {
                return Err(de::Error::custom("a list item is not an object"));
            };
            fields.insert("apiVersion".into(), self.types.api_version.into());
            fields.insert("kind".into(), self.types.kind.into());
            (self.each)(item);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEPLOYMENTS: ItemKind<'static> = ItemKind {
        api_version: "apps/v1",
        kind: "Deployment",
    };

    fn read(text: &str) -> (Vec<Value>, Option<String>) {
        let mut items = Vec::new();
        let token = read_page(text, &DEPLOYMENTS, &mut |v| items.push(v)).unwrap();
        (items, token)
    }

    #[test]
    fn items_come_out_in_order_with_their_kind_and_the_token() {
        let text = json!({
            "kind": "DeploymentList",
            "apiVersion": "apps/v1",
            "metadata": {"resourceVersion": "7", "continue": "next-page"},
            "items": [
                {"metadata": {"name": "a", "namespace": "x"}, "spec": {"replicas": 1}},
                {"metadata": {"name": "b", "namespace": "x"}},
            ],
        })
        .to_string();
        let (items, token) = read(&text);
        assert_eq!(token.as_deref(), Some("next-page"));
        assert_eq!(
            items,
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "a", "namespace": "x"}, "spec": {"replicas": 1}}),
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "b", "namespace": "x"}}),
            ]
        );
    }

    #[test]
    fn the_last_page_has_no_token_and_an_empty_list_may_be_null() {
        for text in [
            r#"{"items":[],"metadata":{"continue":""}}"#,
            r#"{"metadata":{},"items":null}"#,
            r#"{"kind":"DeploymentList"}"#,
        ] {
            assert_eq!(read(text), (vec![], None), "{text}");
        }
    }

    #[test]
    fn a_broken_page_is_an_error_not_a_shorter_list() {
        let mut seen = 0;
        for text in [
            r#"{"items":[{"metadata":{"name":"a"}},{"metadata":"#,
            r#"{"items":[{"metadata":{"name":"a"}}, 3]}"#,
            r#"{"items":[]} trailing"#,
            r#"[]"#,
        ] {
            assert!(
                read_page(text, &DEPLOYMENTS, &mut |_| seen += 1).is_err(),
                "{text}"
            );
        }
        // What came before the break was handed out: the caller fails the whole LIST.
        assert_eq!(seen, 2);
    }
}
