// The chapters that live in crypt-model-dynamo are linked by reference (`[…][aws-setup-chapter]`):
// beside each other in a `cargo doc` of the workspace or of an application that depends on both
// crates, relatively (defined first, so these win); on docs.rs, by the docs.rs URLs the texts
// define themselves (so that they also work where the Markdown is read on its own).
#![cfg_attr(not(docsrs), doc = crate::dynamo_chapters!("../../"))]
//! The guide: how to adopt crypt-model, chapter by chapter. Each chapter's code is a doctest, of
//! this crate or (the chapters that need the AWS SDK) of crypt-model-dynamo: compiled, and run
//! unless it would call AWS.
//!
//! 1. [Getting started](getting_started): a first model, in memory, then on DynamoDB.
//! 2. [Modeling](modeling): field types, keys, indexes, versions, what is encrypted and what is
//!    authenticated.
//! 3. [Keys and AWS setup][aws-setup-chapter]
//!    (in crypt-model-dynamo, whose code it uses): the application's IAM policy, the KMS key
//!    policy with encryption-context conditions, a CloudFormation template, the key cache.
//! 4. [Migrating a plaintext table](migration), [rotating keys](rotation),
//!    [erasing an owner](erasure): the runbooks, with the `crypt-model` command line; [jobs on
//!    many workers](workers): a job table in DynamoDB, leases, `job status`.
//! 5. [Searchable fields](searchable): blind indexes, and what they reveal.
//! 6. [Streams and Lambda][streams-chapter]
//!    (in crypt-model-dynamo).
//! 7. [HTTP services](http_services): a `Caller` from authentication, errors to status codes,
//!    someone else's record answered like a missing one; [access beyond the
//!    owner](access_beyond_the_owner): delegates (a patient's doctor, a case worker), services on
//!    a person's behalf, grants narrowed within a clinic or a tenant.
//! 8. [Testing your own code](testing): `MemoryStore`, `LocalKeyring`, a keyring that fails;
//!    [against a local server][moto-chapter]
//!    (in crypt-model-dynamo).
//! 9. [Compliance](compliance): OWASP API Security Top 10, PCI DSS, SOC 2, HIPAA, GDPR — each
//!    claim with the test behind it, and what stays with you.
//! 10. [FAQ](faq).
//!
//! The specifications are in [`docs`](crate::docs): the [stored format](crate::docs::format),
//! the [threat model](crate::docs::threat_model), [field types](crate::docs::types),
//! [performance](crate::docs::performance), [reliability](crate::docs::reliability) and [a
//! billion records on paper](crate::docs::scale).
//!
//! [aws-setup-chapter]: https://docs.rs/crypt-model-dynamo/latest/crypt_model_dynamo/guide/aws_setup/index.html
//! [streams-chapter]: https://docs.rs/crypt-model-dynamo/latest/crypt_model_dynamo/guide/streams/index.html
//! [moto-chapter]: https://docs.rs/crypt-model-dynamo/latest/crypt_model_dynamo/guide/testing_with_moto/index.html

#[cfg_attr(not(docsrs), doc = crate::dynamo_chapters!("../../../"))]
#[doc = include_str!("../docs/guide/getting-started.md")]
pub mod getting_started {}
#[doc = include_str!("../docs/guide/modeling.md")]
pub mod modeling {}
#[doc = include_str!("../docs/migration.md")]
pub mod migration {}
#[doc = include_str!("../docs/rotation.md")]
pub mod rotation {}
#[doc = include_str!("../docs/workers.md")]
#[doc = "\n## The state machine\n\n`docs/workers/state-machine.asl.json`:\n\n```json"]
#[doc = include_str!("../docs/workers/state-machine.asl.json")]
#[doc = "```\n\n## The template\n\n`docs/workers/template.yaml`:\n\n```yaml"]
#[doc = include_str!("../docs/workers/template.yaml")]
#[doc = "```"]
pub mod workers {}
#[doc = include_str!("../docs/erasure.md")]
pub mod erasure {}
#[doc = include_str!("../docs/searchable.md")]
pub mod searchable {}
#[doc = include_str!("../docs/guide/http-services.md")]
pub mod http_services {}
#[doc = include_str!("../docs/guide/access-beyond-the-owner.md")]
pub mod access_beyond_the_owner {}
#[cfg_attr(not(docsrs), doc = crate::dynamo_chapters!("../../../"))]
#[doc = include_str!("../docs/guide/testing.md")]
pub mod testing {}
#[doc = include_str!("../docs/guide/compliance.md")]
pub mod compliance {}
#[cfg_attr(not(docsrs), doc = crate::dynamo_chapters!("../../../"))]
#[doc = include_str!("../docs/guide/faq.md")]
pub mod faq {}
