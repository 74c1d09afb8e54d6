//! OpenAPI schemas (with the `openapi` feature) for the wire types whose serde is written by
//! hand: ids, bounded text and timestamps are strings on the wire, and their schemas say so
//! with the same bounds their `parse` checks.

/// Implements `utoipa::PartialSchema` and `utoipa::ToSchema` for a type that is a string on
/// the wire, as `string_schema!(Type, "description", min 1, max 200)` (character bounds), or
/// with a `format`/`pattern` instead of bounds.
macro_rules! string_schema {
    ($name:ty, $description:expr $(, min $min:expr)? $(, max $max:expr)? $(, pattern $pattern:literal)? $(, format $format:expr)?) => {
        #[cfg(feature = "openapi")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                #[allow(unused_imports)]
                use ::utoipa::openapi::schema::{KnownFormat, SchemaFormat};
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    $(.min_length(Some($min)))?
                    $(.max_length(Some($max)))?
                    $(.pattern(Some($pattern)))?
                    $(.format(Some($format)))?
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::ToSchema for $name {}
    };
}

pub(crate) use string_schema;

/// Implements `utoipa::PartialSchema` and `utoipa::ToSchema` for a closed set of wire names:
/// a string enum of exactly those names.
macro_rules! names_schema {
    ($name:ty, $description:expr, $names:expr) => {
        #[cfg(feature = "openapi")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .enum_values(Some($names.iter().copied()))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::ToSchema for $name {}
    };
}

pub(crate) use names_schema;
