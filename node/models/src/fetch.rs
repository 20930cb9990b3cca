//! Getting the bytes of a registered model from the sources a node is configured with.
//!
//! A model's id commits to its graph and weights, so any source will do: the bytes are
//! decoded and their id compared with the one asked for before anything uses them; a
//! source that serves other bytes (by mistake or malice) is skipped with its reason
//! and the next one tried. A source is an L2 node's RPC URL (`verdict_getModelFile`,
//! chunked) or a plain HTTP directory of files named by id (`<url>/0x<id>.vdm`, the
//! layout of a node's model cache, so any static server can hand a cache on); a URL
//! with `{id}` in it is a template for the file's address. A URL is asked as an RPC
//! endpoint first and as a directory when that fails. Fetched files can be kept in a
//! cache directory by id, written atomically.

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, U64};
use jsonrpsee::http_client::HttpClientBuilder;
use verdict_rpc::VerdictApiClient;
use verdict_specs::{Hash, Model};

/// Why no source gave the model.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Every source failed; each with its reason.
    #[error("model {id} could not be obtained from any source: {}", describe(.tried))]
    Unavailable {
        /// The model asked for.
        id: B256,
        /// Each source and why it gave nothing usable.
        tried: Vec<(String, String)>,
    },
    /// The cache directory could not be written.
    #[error("caching model {id} in {path}: {source}")]
    Cache {
        /// The model.
        id: B256,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn describe(tried: &[(String, String)]) -> String {
    if tried.is_empty() {
        return "no source is configured (--model-source)".into();
    }
    tried
        .iter()
        .map(|(source, why)| format!("{source}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A fetched model and the source that gave it.
#[derive(Debug)]
pub struct Fetched {
    /// The model, its id checked.
    pub model: Model,
    /// The file's bytes, as served.
    pub bytes: Vec<u8>,
    /// The source it came from.
    pub source: String,
}

/// Tries `sources` in order for the model `id`, taking at most `max_bytes` from any one;
/// returns the first whose bytes decode to a model of that id.
pub async fn fetch_model(
    sources: &[String],
    id: Hash,
    max_bytes: u64,
) -> Result<Fetched, FetchError> {
    let mut tried = Vec::new();
    for source in sources {
        match fetch_from(source, id, max_bytes).await {
            Ok(bytes) => match check(&bytes, id) {
                Ok(model) => {
                    return Ok(Fetched {
                        model,
                        bytes,
                        source: source.clone(),
                    });
                }
                Err(why) => tried.push((source.clone(), why)),
            },
            Err(why) => tried.push((source.clone(), why)),
        }
    }
    Err(FetchError::Unavailable {
        id: B256::from(id),
        tried,
    })
}

/// The bytes decode to a model whose id is `id`.
pub(crate) fn check(bytes: &[u8], id: Hash) -> Result<Model, String> {
    let model = Model::decode(bytes).map_err(|e| format!("the bytes are not a model file: {e}"))?;
    let got = model.id().id;
    if got != id {
        return Err(format!(
            "served the bytes of model {}, not of the model asked for",
            B256::from(got)
        ));
    }
    Ok(model)
}

/// The whole file from `source`: a template URL, else an L2 node, else a directory.
async fn fetch_from(source: &str, id: Hash, max_bytes: u64) -> Result<Vec<u8>, String> {
    let name = format!("{}", B256::from(id));
    if source.contains("{id}") {
        return fetch_from_http(&source.replace("{id}", &name), max_bytes).await;
    }
    match fetch_from_rpc(source, id, max_bytes).await {
        Ok(bytes) => Ok(bytes),
        // An RPC endpoint that answered but lacks the model, or served a file too
        // large: a directory at the same URL is not worth asking.
        Err(why) if why.starts_with(RPC_ANSWERED) => Err(why),
        Err(rpc) => {
            let url = format!("{}/{name}.vdm", source.trim_end_matches('/'));
            fetch_from_http(&url, max_bytes)
                .await
                .map_err(|http| format!("as an RPC endpoint: {rpc}; as a directory: {http}"))
        }
    }
}

/// How the reason begins when an L2 node answered (so it is no plain directory).
const RPC_ANSWERED: &str = "the node";

/// A file over plain HTTP(S), at most `max_bytes` of it.
async fn fetch_from_http(url: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    let mut response = reqwest::get(url)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}", response.status()));
    }
    if let Some(length) = response.content_length()
        && length > max_bytes
    {
        return Err(format!(
            "GET {url}: the file is {length} bytes, over the {max_bytes}-byte limit"
        ));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > max_bytes {
            return Err(format!(
                "GET {url}: the file runs past the {max_bytes}-byte limit"
            ));
        }
    }
    Ok(bytes)
}

/// The whole model file from an L2 node, chunk by chunk.
async fn fetch_from_rpc(url: &str, id: Hash, max_bytes: u64) -> Result<Vec<u8>, String> {
    let client = HttpClientBuilder::default()
        .build(url)
        .map_err(|e| format!("not an RPC URL: {e}"))?;
    let name = B256::from(id).to_string();
    let mut bytes = Vec::new();
    let mut offset = Some(U64::ZERO);
    while let Some(at) = offset {
        let chunk = client
            .get_model_file(name.clone(), Some(at), None)
            .await
            .map_err(|e| format!("verdict_getModelFile failed: {e}"))?
            .ok_or_else(|| format!("{RPC_ANSWERED} does not serve the model"))?;
        let total = chunk.total_bytes.to::<u64>();
        if total > max_bytes {
            return Err(format!(
                "{RPC_ANSWERED} serves a file of {total} bytes, over the {max_bytes}-byte limit"
            ));
        }
        if chunk.offset != at || (bytes.len() as u64) != at.to::<u64>() {
            return Err(format!("answered offset {} for {at}", chunk.offset));
        }
        bytes.extend_from_slice(&chunk.data);
        if bytes.len() as u64 > total {
            return Err("served more bytes than the file's length".into());
        }
        offset = chunk.next_offset;
        if offset.is_some() && chunk.data.is_empty() {
            return Err("served an empty chunk before the end".into());
        }
    }
    Ok(bytes)
}

/// Where the cached file of model `id` lives under `dir`.
pub fn cache_path(dir: &Path, id: Hash) -> PathBuf {
    dir.join(format!("{}.vdm", B256::from(id)))
}

/// The cached model `id` under `dir`, if a valid file of that id is there (a file that
/// does not decode to that id is ignored, to be fetched again).
pub fn load_cached(dir: &Path, id: Hash) -> Option<Model> {
    let bytes = std::fs::read(cache_path(dir, id)).ok()?;
    check(&bytes, id).ok()
}

/// Writes a fetched file to the cache: to a temporary file first, then renamed, so a
/// crash never leaves half a file under the id's name.
pub fn store_cached(dir: &Path, fetched: &Fetched) -> Result<PathBuf, FetchError> {
    let id = fetched.model.id().id;
    let path = cache_path(dir, id);
    let fail = |source| FetchError::Cache {
        id: B256::from(id),
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let partial = path.with_extension("vdm.partial");
    std::fs::write(&partial, &fetched.bytes).map_err(fail)?;
    std::fs::rename(&partial, &path).map_err(fail)?;
    Ok(path)
}

/// Where a node gets the files of registered models it lacks, as records name them:
/// its cache first, then its sources (the file checked, then cached). A model no source
/// gave is asked for again only after `retry`, so a batch of its records does not send
/// a request to every source each poll.
#[derive(Debug)]
pub struct ModelSources {
    urls: Vec<String>,
    cache: PathBuf,
    max_bytes: u64,
    retry: std::time::Duration,
    unobtainable: std::collections::HashMap<Hash, std::time::Instant>,
}

/// A model [`ModelSources::obtain`] found.
#[derive(Debug)]
pub struct Obtained {
    /// The model, its id checked.
    pub model: Model,
    /// Where it came from: `"the cache"` or a source's URL.
    pub source: String,
    /// Whether it came from a source (not the cache).
    pub fetched: bool,
    /// A fetched file that could not be cached (the model is usable all the same).
    pub cache_error: Option<FetchError>,
}

impl ModelSources {
    /// Sources `urls` (tried in order), the cache `cache`, at most `max_bytes` a file,
    /// a model no source gave asked for again after `retry`.
    pub fn new(
        urls: Vec<String>,
        cache: PathBuf,
        max_bytes: u64,
        retry: std::time::Duration,
    ) -> Self {
        Self {
            urls,
            cache,
            max_bytes,
            retry,
            unobtainable: std::collections::HashMap::new(),
        }
    }

    /// The model `id`: `Ok(None)` while a failed fetch waits for its retry; an error
    /// (every source's reason) when no source gives it now.
    pub async fn obtain(&mut self, id: Hash) -> Result<Option<Obtained>, FetchError> {
        if let Some(model) = load_cached(&self.cache, id) {
            self.unobtainable.remove(&id);
            return Ok(Some(Obtained {
                model,
                source: "the cache".into(),
                fetched: false,
                cache_error: None,
            }));
        }
        if self
            .unobtainable
            .get(&id)
            .is_some_and(|at| at.elapsed() < self.retry)
        {
            return Ok(None);
        }
        match fetch_model(&self.urls, id, self.max_bytes).await {
            Ok(fetched) => {
                self.unobtainable.remove(&id);
                let cache_error = store_cached(&self.cache, &fetched).err();
                Ok(Some(Obtained {
                    model: fetched.model,
                    source: fetched.source,
                    fetched: true,
                    cache_error,
                }))
            }
            Err(e) => {
                self.unobtainable.insert(id, std::time::Instant::now());
                Err(e)
            }
        }
    }

    /// How many models no source gave (waiting for their retry).
    pub fn unobtainable(&self) -> usize {
        self.unobtainable.len()
    }

    /// The cache directory.
    pub fn cache(&self) -> &Path {
        &self.cache
    }
}
