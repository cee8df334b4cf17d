//! An install's configuration: checked against the integration's JSON
//! Schema, split into plain and secret (`writeOnly`) fields.
use serde_json::{Map, Value};

use crate::error::{AppError, FieldError};

/// Names of the schema's secret (`writeOnly: true`) properties.
pub fn secret_fields(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get("writeOnly").and_then(Value::as_bool) == Some(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Plain and secret halves of a configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SplitConfig {
    pub plain: Map<String, Value>,
    pub secret: Map<String, Value>,
}

impl SplitConfig {
    /// The whole configuration again.
    pub fn merged(&self) -> Map<String, Value> {
        let mut all = self.plain.clone();
        all.extend(self.secret.clone());
        all
    }
}

/// Splits `config` by the schema's secret fields.
pub fn split(schema: &Value, config: Map<String, Value>) -> SplitConfig {
    let secrets = secret_fields(schema);
    let mut out = SplitConfig::default();
    for (k, v) in config {
        if secrets.contains(&k) {
            out.secret.insert(k, v);
        } else {
            out.plain.insert(k, v);
        }
    }
    out
}

/// Turns the submitted value into an object; form inputs arrive as strings,
/// so integer, number and boolean fields are converted by the schema's type.
/// Blank strings become `null`, which means "no value" (see [`apply`]).
pub fn normalise(schema: &Value, submitted: Value) -> Result<Map<String, Value>, AppError> {
    let Value::Object(map) = submitted else {
        return Err(AppError::ConfigInvalid {
            message: "The configuration must be a JSON object.".into(),
            fields: Vec::new(),
        });
    };
    let props = schema.get("properties").and_then(Value::as_object);
    let mut out = Map::new();
    for (k, v) in map {
        let kind = props
            .and_then(|p| p.get(&k))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str);
        let v = match (kind, v) {
            (_, Value::String(s)) if s.trim().is_empty() => Value::Null,
            (Some("integer"), Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(s)),
            (Some("number"), Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::String(s)),
            (Some("boolean"), Value::String(s)) => match s.as_str() {
                "true" | "on" | "1" => Value::Bool(true),
                "false" | "off" | "0" => Value::Bool(false),
                _ => Value::String(s),
            },
            (_, v) => v,
        };
        out.insert(k, v);
    }
    Ok(out)
}

/// Applies submitted values onto stored ones: `null` removes a plain value
/// but keeps a stored secret (a blank secret field means "unchanged").
pub fn apply(stored: &mut Map<String, Value>, incoming: Map<String, Value>, secrets: bool) {
    for (k, v) in incoming {
        match (v, secrets) {
            (Value::Null, true) => {}
            (Value::Null, false) => {
                stored.remove(&k);
            }
            (v, _) => {
                stored.insert(k, v);
            }
        }
    }
}

/// Fills in the schema's defaults for absent properties.
pub fn with_defaults(schema: &Value, mut config: Map<String, Value>) -> Map<String, Value> {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            if let Some(d) = p.get("default") {
                config.entry(k.clone()).or_insert_with(|| d.clone());
            }
        }
    }
    config
}

/// Validates a whole configuration; every problem is named by field.
pub fn validate(schema: &Value, config: &Map<String, Value>) -> Result<(), AppError> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        tracing::error!(error = %e, "catalog schema does not compile");
        AppError::Internal
    })?;
    let instance = Value::Object(config.clone());
    let title = |field: &str| {
        schema
            .pointer(&format!("/properties/{field}/title"))
            .and_then(Value::as_str)
            .unwrap_or(field)
            .to_string()
    };
    let mut fields: Vec<FieldError> = Vec::new();
    for error in validator.iter_errors(&instance) {
        let path = error.instance_path.to_string();
        let field = match &error.kind {
            jsonschema::error::ValidationErrorKind::Required { property } => {
                property.as_str().unwrap_or_default().to_string()
            }
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                unexpected.first().cloned().unwrap_or_default()
            }
            _ => path
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or("")
                .to_string(),
        };
        let message = match &error.kind {
            jsonschema::error::ValidationErrorKind::Required { .. } => {
                format!("{} is required.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::AdditionalProperties { .. } => {
                format!("{field} is not a setting of this integration.")
            }
            // Never echo the submitted value: it may be a secret.
            jsonschema::error::ValidationErrorKind::MinLength { limit } => {
                format!("{} must be at least {limit} characters.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::MaxLength { limit } => {
                format!("{} must be at most {limit} characters.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::Pattern { .. } => {
                format!("{} is not in the expected format.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::Enum { options } => {
                format!("{} must be one of {options}.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::Type { .. } => {
                let expected = schema
                    .pointer(&format!("/properties/{field}/type"))
                    .and_then(Value::as_str)
                    .unwrap_or("another type");
                format!("{} must be a {expected}.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::Minimum { limit } => {
                format!("{} must be at least {limit}.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::Maximum { limit } => {
                format!("{} must be at most {limit}.", title(&field))
            }
            jsonschema::error::ValidationErrorKind::Format { format } => {
                format!("{} must be a valid {format}.", title(&field))
            }
            _ => format!("{} is invalid.", title(&field)),
        };
        if !fields.iter().any(|f| f.field == field) {
            fields.push(FieldError { field, message });
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        let message = fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Err(AppError::ConfigInvalid { message, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object", "additionalProperties": false, "required": ["api_key", "venue"],
            "properties": {
                "api_key": {"type": "string", "title": "API key", "writeOnly": true, "minLength": 8},
                "venue": {"type": "string", "title": "Venue ID"},
                "guests": {"type": "integer", "minimum": 1, "default": 2},
                "live": {"type": "boolean"}
            }
        })
    }

    #[test]
    fn form_strings_become_typed_values() {
        let m = normalise(
            &schema(),
            json!({"guests": "4", "live": "on", "venue": " ", "api_key": "k"}),
        )
        .unwrap();
        assert_eq!(m["guests"], json!(4));
        assert_eq!(m["live"], json!(true));
        assert_eq!(m["venue"], Value::Null, "blank strings mean no value");
    }

    #[test]
    fn every_problem_is_reported_by_field_without_values() {
        let m = normalise(
            &schema(),
            json!({"api_key": "short-1", "guests": 0, "extra": 1}),
        )
        .unwrap();
        let Err(AppError::ConfigInvalid { fields, message }) = validate(&schema(), &m) else {
            panic!("should be invalid")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        for n in ["api_key", "venue", "guests", "extra"] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        assert!(!message.contains("short-1"), "secret echoed: {message}");
    }

    #[test]
    fn blanks_remove_plain_values_but_keep_secrets() {
        let mut plain = Map::new();
        plain.insert("venue".into(), json!("v1"));
        apply(
            &mut plain,
            normalise(&schema(), json!({"venue": ""})).unwrap(),
            false,
        );
        assert!(plain.is_empty());
        let mut secret = Map::new();
        secret.insert("api_key".into(), json!("stored-key"));
        apply(
            &mut secret,
            normalise(&schema(), json!({"api_key": ""})).unwrap(),
            true,
        );
        assert_eq!(secret["api_key"], "stored-key");
        apply(
            &mut secret,
            normalise(&schema(), json!({"api_key": "new-key-123"})).unwrap(),
            true,
        );
        assert_eq!(secret["api_key"], "new-key-123");
    }

    #[test]
    fn secrets_are_split_off_and_defaults_filled() {
        let m = with_defaults(
            &schema(),
            normalise(&schema(), json!({"api_key": "12345678", "venue": "v"})).unwrap(),
        );
        assert_eq!(m["guests"], json!(2));
        let s = split(&schema(), m);
        assert_eq!(s.secret.keys().collect::<Vec<_>>(), vec!["api_key"]);
        assert!(!s.plain.contains_key("api_key"));
        assert_eq!(s.merged().len(), 3);
    }
}
