package notify

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/wigo-project/wigo/core/edge"
	"github.com/wigo-project/wigo/core/store"
)

// Item is one outbox row as the API shows it.
type Item struct {
	Id       int64  `json:"Id"`
	EventId  string `json:"EventId"`
	Instance string `json:"Instance"`
	Host     string `json:"Host"`
	// State is pending, held or dead.
	State string `json:"State"`
	// FallbackFor is the instance a held row waits on.
	FallbackFor string `json:"FallbackFor,omitempty"`
	// Attempts is how many deliveries failed so far.
	Attempts int `json:"Attempts"`
	// NextAttempt is when a pending row is due (RFC 3339).
	NextAttempt string `json:"NextAttempt"`
	Created     string `json:"Created"`
	Updated     string `json:"Updated"`
	LastError   string `json:"LastError"`
	// Notification is the payload as it is sent.
	Notification json.RawMessage `json:"Notification"`
}

// Page is the answer of the list endpoints.
type Page struct {
	// Total is the number of rows in the listed states, for paging.
	Total         int    `json:"Total"`
	Limit         int    `json:"Limit"`
	Offset        int    `json:"Offset"`
	Notifications []Item `json:"Notifications"`
}

// Handler serves the outbox API; the daemon mounts it (behind its auth
// middleware) on its mux:
//
//	GET  /api/notifications            pending, held and dead rows, oldest first
//	GET  /api/notifications/dead       dead letters only
//	POST /api/notifications/{id}/retry queue a dead letter again
//
// The list endpoints page with ?limit= (default 100, at most 1000) and
// ?offset=. Errors are answered as {"error": "..."} like the rest of the API:
// 400 for a bad parameter, 404 for an unknown id, 409 for a row that is not
// a dead letter.
func (p *Pipeline) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/notifications", func(w http.ResponseWriter, r *http.Request) {
		p.serveList(w, r, nil)
	})
	mux.HandleFunc("GET /api/notifications/dead", func(w http.ResponseWriter, r *http.Request) {
		p.serveList(w, r, []store.OutboxState{store.OutboxDead})
	})
	mux.HandleFunc("POST /api/notifications/{id}/retry", p.serveRetry)
	return mux
}

func (p *Pipeline) serveList(w http.ResponseWriter, r *http.Request, states []store.OutboxState) {
	q := store.OutboxQuery{States: states}
	var ok bool
	if q.Limit, ok = intParam(w, r, "limit"); !ok {
		return
	}
	if q.Offset, ok = intParam(w, r, "offset"); !ok {
		return
	}
	rows, total, err := p.st.ListOutbox(r.Context(), q)
	if err != nil {
		if errors.Is(err, store.ErrInvalidQuery) {
			writeError(w, http.StatusBadRequest, "limit and offset must not be negative")
			return
		}
		p.log.Error("list notifications failed", "error", err)
		writeError(w, http.StatusInternalServerError, "internal error; see the daemon's log")
		return
	}
	page := Page{Total: total, Limit: q.Limit, Offset: q.Offset, Notifications: make([]Item, 0, len(rows))}
	if page.Limit == 0 {
		page.Limit = store.DefaultLimit
	}
	page.Limit = min(page.Limit, store.MaxLimit)
	for _, row := range rows {
		page.Notifications = append(page.Notifications, itemOf(row))
	}
	writeJSON(w, http.StatusOK, page)
}

func (p *Pipeline) serveRetry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "the notification id must be a positive integer")
		return
	}
	switch err := p.Retry(r.Context(), id); {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such notification")
		return
	case errors.Is(err, store.ErrNotDead):
		writeError(w, http.StatusConflict, "only a dead letter can be retried")
		return
	case err != nil:
		p.log.Error("retry notification failed", "id", id, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error; see the daemon's log")
		return
	}
	row, err := p.st.GetOutbox(r.Context(), id)
	if err != nil {
		p.log.Error("read retried notification failed", "id", id, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error; see the daemon's log")
		return
	}
	writeJSON(w, http.StatusOK, itemOf(row))
}

func intParam(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, name+" must be a non-negative integer")
		return 0, false
	}
	return n, true
}

func itemOf(row store.OutboxRow) Item {
	payload := json.RawMessage(row.Payload)
	if !json.Valid(payload) {
		// Never stored by this package; guard the encoder anyway.
		payload = json.RawMessage("null")
	}
	return Item{
		Id:           row.ID,
		EventId:      row.EventID,
		Instance:     row.Instance,
		Host:         row.Host,
		State:        string(row.State),
		FallbackFor:  row.FallbackFor,
		Attempts:     row.Attempts,
		NextAttempt:  row.NextAttempt.UTC().Format(time.RFC3339Nano),
		Created:      row.Created.UTC().Format(time.RFC3339Nano),
		Updated:      row.Updated.UTC().Format(time.RFC3339Nano),
		LastError:    row.LastError,
		Notification: payload,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) { edge.Refuse(w, status, msg) }
