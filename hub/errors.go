package hub

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors, matched with errors.Is against the errors this package
// returns.
var (
	// ErrOffline: the file is not in the cache and the network may not be
	// used (Config.Offline, HF_HUB_OFFLINE).
	ErrOffline = errors.New("hub: file not in cache and offline mode is on (HF_HUB_OFFLINE)")
	// ErrRepoNotFound: the repository does not exist or is private/gated
	// and the token does not give access (the Hub answers 401 or 404 for both).
	ErrRepoNotFound = errors.New("repository not found")
	// ErrEntryNotFound: the repository exists but not this file.
	ErrEntryNotFound = errors.New("file not found in repository")
	// ErrRevisionNotFound: the branch, tag or commit does not exist.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrGated: the repository is gated and the token has no access.
	ErrGated = errors.New("gated repository")
	// ErrUnauthorized: the token was refused.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrChecksum: downloaded content does not match the Hub's ETag.
	ErrChecksum = errors.New("checksum mismatch")
)

// HTTPError is an unsuccessful answer from the Hub. Is reports the matching
// sentinel (ErrRepoNotFound, ErrEntryNotFound, ...) from the Hub's
// X-Error-Code header and the status, as huggingface_hub's
// hf_raise_for_status does.
type HTTPError struct {
	Method     string
	URL        string
	StatusCode int
	Code       string // X-Error-Code header, e.g. "RepoNotFound"
	Message    string // X-Error-Message header
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("hub: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch {
	case errors.Is(e, ErrRepoNotFound):
		s += " — check the repo id and type; for a private or gated repo set HF_TOKEN"
	case errors.Is(e, ErrUnauthorized):
		s += " — check HF_TOKEN"
	}
	return s
}

// Is maps the response to the sentinels.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrRevisionNotFound:
		return e.Code == "RevisionNotFound"
	case ErrEntryNotFound:
		return e.Code == "EntryNotFound" || (e.Code == "" && e.StatusCode == http.StatusNotFound)
	case ErrGated:
		return e.Code == "GatedRepo"
	case ErrRepoNotFound:
		return e.Code == "RepoNotFound" ||
			(e.StatusCode == http.StatusUnauthorized && e.Code == "" && e.Message != "Invalid credentials in Authorization header")
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized && e.Message == "Invalid credentials in Authorization header"
	}
	return false
}

// ChecksumError reports a downloaded file whose content does not match the
// hash the Hub announced. The partial file has been deleted; nothing
// entered the cache.
type ChecksumError struct {
	File      string // repo file name
	Algorithm string // "sha256" or "git-sha1"
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("hub: %s: %s mismatch: the Hub announced %s, downloaded content hashes to %s (file discarded, retry the download)",
		e.File, e.Algorithm, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }
