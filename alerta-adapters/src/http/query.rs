//! Query strings and path segments: the extractors and the parsing shared by list routes.

use alerta_core::Error;
use alerta_core::domain::{
    AlertId, Cursor, DepartmentName, IncidentId, Limit, MailId, MailState, PageRequest, SilenceId,
    SilenceState, UserId,
};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Ref, Required, Type};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

/// A query string of type `T`; one that cannot be read gets 400 `invalid_query`.
///
/// Query structs hold `Option<String>`s, parsed by the handler into domain types so that a bad
/// value is reported under its own name.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!(
                        "the query string could not be read: {}",
                        rejection.body_text()
                    ),
                )
            })
    }
}

/// Path parameters of type `T`; ones that cannot be read (e.g. invalid percent-encoding) get
/// 400 `invalid_path`.
pub(crate) struct PathParams<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_| {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    "the path could not be read",
                )
            })
    }
}

/// What a path segment names: an id, a department name. Text that could not be one names
/// nothing, so the path is answered like one naming something that does not exist (404), as
/// the wire contract has it for `/incidents/{id}` and `/departments/{nombre}`, rather than as
/// bad input: the segments are names the server handed out, and one rule holds for every
/// path.
pub(crate) fn path_id<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, Error>,
    what: &'static str,
) -> Result<T, Error> {
    parse(text).map_err(|_| Error::NotFound(what))
}

/// The one path parameter of a route about one thing, read as that thing's name or id by the
/// rule of [`path_id`].
pub(crate) struct Named<T>(pub(crate) T);

/// What a path segment can name, and the word of the 404 for one that names nothing.
pub(crate) trait PathName: Sized {
    /// `incident`, `alert`, ...: the `<what>_not_found` of the 404.
    const WHAT: &'static str;
    /// The path parameter's name: `id`, or `nombre` for a department.
    const PARAMETER: &'static str;
    /// The thing named by `text`, or why it cannot be one.
    fn parse(text: &str) -> Result<Self, Error>;
}

/// The path names of the API's routes: each type and the word of its 404.
macro_rules! path_names {
    ($($name:ty => $what:literal as $parameter:literal),* $(,)?) => {$(
        impl PathName for $name {
            const WHAT: &'static str = $what;
            const PARAMETER: &'static str = $parameter;
            fn parse(text: &str) -> Result<Self, Error> {
                <$name>::parse(text)
            }
        }
    )*};
}

path_names! {
    IncidentId => "incident" as "id",
    AlertId => "alert" as "id",
    UserId => "user" as "id",
    MailId => "mail" as "id",
    SilenceId => "silence" as "id",
    DepartmentName => "department" as "nombre",
}

impl<T: PathName + Send, S: Send + Sync> FromRequestParts<S> for Named<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathParams(text) = PathParams::<String>::from_request_parts(parts, state).await?;
        Ok(Self(path_id(&text, T::parse, T::WHAT)?))
    }
}

/// The extension by which a path parameter read as [`Named`] tells the document what it names;
/// the document turns it into the route's 404 and takes it out.
pub(crate) const NAMES_EXTENSION: &str = "x-names";

impl<T: PathName> IntoParams for Named<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let names = ExtensionsBuilder::new()
            .add(NAMES_EXTENSION, T::WHAT)
            .build();
        let parameter = ParameterBuilder::new()
            .name(T::PARAMETER)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(format!("The {}'s `{}`.", T::WHAT, T::PARAMETER)))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .extensions(Some(names))
            .build();
        vec![parameter]
    }
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// Items per page, 1 to 500; 50 when absent.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl PageParams {
    /// The page asked for: `limit` 1–500 (50 when absent), `cursor` as sent.
    pub(crate) fn page(&self) -> Result<PageRequest, Error> {
        let limit = match non_empty(&self.limit) {
            None => Limit::DEFAULT,
            Some(text) => {
                let n = text
                    .parse::<usize>()
                    .map_err(|_| Error::invalid("limit", "limit must be a number from 1 to 500"))?;
                Limit::new(n)?
            }
        };
        Ok(PageRequest {
            limit,
            cursor: non_empty(&self.cursor).map(Cursor::new),
        })
    }
}

/// The page a list route is asked for, read from [`PageParams`], for a list whose only query
/// parameters are the page's. A list with filters reads `QueryParams<PageParams>` after its
/// filters and parses the page after them, so that a bad filter is reported first.
pub(crate) struct Paged(pub(crate) PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Paged {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let QueryParams(params) =
            QueryParams::<PageParams>::from_request_parts(parts, state).await?;
        Ok(Self(params.page()?))
    }
}

/// `?state=&limit=&cursor=` of a list whose items stand in one of a closed set of states:
/// the state asked for (`None`, absent or empty, for every one) and the page.
pub(crate) struct StatePage<S> {
    /// The state asked for, or `None` for every one.
    pub(crate) state: Option<S>,
    /// The page asked for.
    pub(crate) page: PageRequest,
}

/// A closed set of states a list can be filtered by.
pub(crate) trait ListedState: Sized + ToSchema {
    /// What the filter keeps, for the document.
    const FILTER: &'static str;
    /// The state named `text`, or `invalid_state`.
    fn parse(text: &str) -> Result<Self, Error>;
}

impl ListedState for MailState {
    const FILTER: &'static str = "Only rows in this state.";
    fn parse(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

impl ListedState for SilenceState {
    const FILTER: &'static str = "Only silences in this state now.";
    fn parse(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

/// The query string of [`StatePage`] before its state is parsed.
#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

impl<S: ListedState + Send, St: Send + Sync> FromRequestParts<St> for StatePage<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &St) -> Result<Self, ApiError> {
        // Both read before either is parsed, as a list with filters reads them.
        let QueryParams(query) = QueryParams::<StateQuery>::from_request_parts(parts, app).await?;
        let QueryParams(page) = QueryParams::<PageParams>::from_request_parts(parts, app).await?;
        Ok(Self {
            state: non_empty(&query.state).map(S::parse).transpose()?,
            page: page.page()?,
        })
    }
}

// The state's schema is referenced, not registered here: the list's item type, which carries
// the state, registers it.
impl<S: ListedState> IntoParams for StatePage<S> {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let state = ParameterBuilder::new()
            .name("state")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(S::FILTER))
            .schema(Some(Ref::from_schema_name(S::name())))
            .build();
        let mut parameters = vec![state];
        parameters.extend(PageParams::into_params(parameter_in));
        parameters
    }
}

impl IntoParams for Paged {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        PageParams::into_params(parameter_in)
    }
}

/// A query value, or `None` when it is absent or empty: an empty form field means "no filter".
pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}
