package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// openapiYAML is the API's OpenAPI 3.1 document. It is written by hand,
// next to the route table, and checked against it by TestOpenAPI (every
// route documented with its role, nothing documented that is not served,
// answers valid against its schemas).
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI is the document, loaded and validated once (kin-openapi, the
// maintained Go implementation; it checks the document as it loads it).
var OpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
})

var openapiJSON = sync.OnceValues(func() (json.RawMessage, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

// getOpenAPI answers GET /api/openapi.json.
func (s *server) getOpenAPI(*http.Request) (any, error) {
	b, err := openapiJSON()
	if err != nil {
		return nil, err
	}
	return b, nil
}
