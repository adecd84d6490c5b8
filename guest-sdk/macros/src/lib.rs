//! The macros of `workway-sdk`: `#[action]` turns a plain function into an
//! exported action, and `integration!` exports the integration.
//!
//! Errors are reported as compile errors pointing at the user's code.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, FnArg, GenericArgument, Ident, ItemFn, Lit, LitStr, Meta, PathArguments,
    ReturnType, Token, Type, bracketed,
};

/// Marks a function as an action of the integration.
///
/// The function takes the typed input (and optionally `&Context` first) and
/// returns `Result<Output>`; input and output implement serde's traits and
/// `JsonSchema`. The action's name is the function's name in kebab-case
/// unless `name = "..."` is given; its description is the doc comment unless
/// `description = "..."` is given.
///
/// ```ignore
/// /// Post a message to a channel.
/// #[action(name = "send-message")]
/// fn send_message(ctx: &Context, input: SendMessage) -> Result<Sent> { ... }
/// ```
#[proc_macro_attribute]
pub fn action(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(attr with Punctuated::<Meta, Token![,]>::parse_terminated);
    let func = syn::parse_macro_input!(item as ItemFn);
    match expand_action(args, func) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn string_value(meta: &Meta) -> syn::Result<String> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.value()),
            other => Err(syn::Error::new(other.span(), "expected a string literal")),
        },
        other => Err(syn::Error::new(other.span(), "expected `key = \"value\"`")),
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// The `T` of a return type `Result<T>` or `Result<T, E>`.
fn output_type(ret: &ReturnType) -> syn::Result<Type> {
    let ReturnType::Type(_, ty) = ret else {
        return Err(syn::Error::new(
            ret.span(),
            "an action returns `Result<Output>`: add `-> Result<YourOutput>`",
        ));
    };
    if let Type::Path(path) = ty.as_ref()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(output)) = args.args.first()
    {
        return Ok(output.clone());
    }
    Err(syn::Error::new(
        ty.span(),
        "an action returns `Result<Output>` (workway_sdk::Result) where Output is Serialize + JsonSchema",
    ))
}

fn expand_action(
    args: Punctuated<Meta, Token![,]>,
    func: ItemFn,
) -> syn::Result<proc_macro2::TokenStream> {
    let fn_name = &func.sig.ident;
    let mut name = fn_name.to_string().replace('_', "-");
    let mut description: Option<String> = None;
    for arg in &args {
        if arg.path().is_ident("name") {
            name = string_value(arg)?;
            if !is_kebab(&name) {
                return Err(syn::Error::new(
                    arg.span(),
                    format!(
                        "action name `{name}` must be lower-case kebab-case, like `send-message`"
                    ),
                ));
            }
        } else if arg.path().is_ident("description") {
            description = Some(string_value(arg)?);
        } else {
            return Err(syn::Error::new(
                arg.span(),
                "unknown argument: `#[action]` takes `name = \"...\"` and `description = \"...\"`",
            ));
        }
    }
    let description = match description {
        Some(d) => d,
        None => doc_comment(&func),
    };
    if description.trim().is_empty() {
        return Err(syn::Error::new(
            fn_name.span(),
            "an action needs a description: add a `///` doc comment or `#[action(description = \"...\")]`",
        ));
    }
    if let Some(asyncness) = &func.sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "actions are plain functions; remove `async`",
        ));
    }
    if !func.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            func.sig.generics.span(),
            "actions cannot be generic",
        ));
    }
    let params: Vec<&FnArg> = func.sig.inputs.iter().collect();
    let (takes_context, input_ty) = match params.as_slice() {
        [FnArg::Typed(input)] => (false, input.ty.as_ref().clone()),
        [FnArg::Typed(_ctx), FnArg::Typed(input)] => (true, input.ty.as_ref().clone()),
        _ => {
            return Err(syn::Error::new(
                func.sig.inputs.span(),
                "an action takes its typed input, optionally after `ctx: &Context`: `fn f(input: In)` or `fn f(ctx: &Context, input: In)`",
            ));
        }
    };
    let output_ty = output_type(&func.sig.output)?;
    let def_name = format_ident!("__workway_action_{}", fn_name);
    let call = if takes_context {
        quote! { #fn_name(ctx, input) }
    } else {
        quote! { { let _ = ctx; #fn_name(input) } }
    };
    let name_lit = LitStr::new(&name, Span::call_site());
    let desc_lit = LitStr::new(description.trim(), Span::call_site());
    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        const #def_name: ::workway_sdk::__private::ActionDef = ::workway_sdk::__private::ActionDef {
            name: #name_lit,
            description: #desc_lit,
            input_schema: ::workway_sdk::__private::schema_for::<#input_ty>,
            output_schema: ::workway_sdk::__private::schema_for::<#output_ty>,
            run: |ctx, input| {
                ::workway_sdk::__private::ActionDef::invoke(
                    ctx,
                    input,
                    |ctx: &::workway_sdk::Context, input: #input_ty| -> ::workway_sdk::Result<#output_ty> {
                        #call
                    },
                )
            },
        };
    })
}

fn doc_comment(func: &ItemFn) -> String {
    let lines: Vec<String> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join(" ").trim().to_string()
}

struct IntegrationArgs {
    name: Option<LitStr>,
    version: Option<LitStr>,
    actions: Vec<Ident>,
    actions_span: Option<Span>,
}

impl Parse for IntegrationArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = IntegrationArgs {
            name: None,
            version: None,
            actions: Vec::new(),
            actions_span: None,
        };
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            match key.to_string().as_str() {
                "name" => args.name = Some(input.parse()?),
                "version" => args.version = Some(input.parse()?),
                "actions" => {
                    let content;
                    bracketed!(content in input);
                    let list = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                    args.actions = list.into_iter().collect();
                    args.actions_span = Some(key.span());
                }
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        "unknown key: `integration!` takes `name`, `version` and `actions`",
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// Exports the integration: its name (kebab-case), optional version (the
/// crate's by default) and its actions, the functions marked `#[action]`.
///
/// ```ignore
/// workway_sdk::integration! {
///     name: "slack",
///     actions: [send_message, list_channels],
/// }
/// ```
#[proc_macro]
pub fn integration(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as IntegrationArgs);
    match expand_integration(args) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_integration(args: IntegrationArgs) -> syn::Result<proc_macro2::TokenStream> {
    let name = args.name.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "`integration!` needs `name: \"your-integration\"`",
        )
    })?;
    if !is_kebab(&name.value()) {
        return Err(syn::Error::new(
            name.span(),
            "the integration's name must be lower-case kebab-case, like `google-sheets`",
        ));
    }
    if args.actions.is_empty() {
        return Err(syn::Error::new(
            args.actions_span.unwrap_or_else(Span::call_site),
            "`integration!` needs `actions: [...]` with at least one `#[action]` function",
        ));
    }
    let version = match args.version {
        Some(v) => quote! { #v },
        None => quote! { env!("CARGO_PKG_VERSION") },
    };
    let defs: Vec<Ident> = args
        .actions
        .iter()
        .map(|a| Ident::new(&format!("__workway_action_{a}"), a.span()))
        .collect();
    let count = defs.len();
    let stamp = format!("workway-sdk={};contract=0.1.0", env!("CARGO_PKG_VERSION"));
    let stamp_len = stamp.len();
    let stamp_bytes = syn::LitByteStr::new(stamp.as_bytes(), Span::call_site());
    Ok(quote! {
        #[doc(hidden)]
        static __WORKWAY_ACTIONS: [::workway_sdk::__private::ActionDef; #count] = [#(#defs),*];

        #[doc(hidden)]
        struct __WorkwayIntegration;

        impl ::workway_sdk::bindings::Guest for __WorkwayIntegration {
            fn describe() -> ::workway_sdk::bindings::IntegrationInfo {
                ::workway_sdk::__private::describe(#name, #version, &__WORKWAY_ACTIONS)
            }

            fn execute(
                action: ::std::string::String,
                input: ::std::string::String,
                context: ::workway_sdk::bindings::ExecutionContext,
            ) -> ::std::result::Result<::workway_sdk::bindings::ActionResult, ::workway_sdk::bindings::IntegrationError> {
                ::workway_sdk::__private::execute(&__WORKWAY_ACTIONS, action, input, context)
            }
        }

        ::workway_sdk::bindings::export_integration!(__WorkwayIntegration with_types_in ::workway_sdk::bindings);

        /// Which SDK and contract built this component, for the host to read.
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = "workway-sdk")]
        static __WORKWAY_SDK_STAMP: [u8; #stamp_len] = *#stamp_bytes;
    })
}
