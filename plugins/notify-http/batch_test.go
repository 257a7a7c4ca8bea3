package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// TestNotifyBatch: the plugin declares batch_notify; a batch arrives as one
// POST per notification, each answered on its own: the one the receiver
// refuses is the one that fails.
func TestNotifyBatch(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n sdk.Notification
		if err := json.Unmarshal([]byte(r.FormValue("Notification")), &n); err != nil {
			t.Errorf("form: %v", err)
		}
		if n.Hostname == "refused" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		hosts = append(hosts, n.Hostname)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("url = %q", srv.URL)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if info, err := c.Client.Info(ctx); err != nil || !info.Has(sdk.CapBatchNotify) {
		t.Fatalf("info = %+v, %v: want the batch_notify capability", info, err)
	}
	var batch [][]byte
	for i := range 40 {
		n := sdktest.Notification()
		n.Hostname = fmt.Sprintf("h%02d", i)
		if i == 7 {
			n.Hostname = "refused"
		}
		b, _ := json.Marshal(n)
		batch = append(batch, b)
	}
	batch = append(batch, []byte("not json"))
	errs, err := c.Client.NotifyBatchJSON(ctx, batch)
	if err != nil || len(errs) != 41 {
		t.Fatalf("batch = %v, %v", errs, err)
	}
	for i, e := range errs {
		if (e != nil) != (i == 7 || i == 40) {
			t.Errorf("notification %d: error %v", i, e)
		}
	}
	if !strings.Contains(errs[7].Error(), "500") || !strings.Contains(errs[40].Error(), "decode notification") {
		t.Errorf("errors: %v / %v", errs[7], errs[40])
	}
	sort.Strings(hosts)
	if len(hosts) != 39 || hosts[0] != "h00" || hosts[38] != "h39" {
		t.Errorf("the receiver got %d: %v", len(hosts), hosts)
	}
}
