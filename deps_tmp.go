//go:build tools

package tools
import (
 _ "github.com/hashicorp/hcl/v2"
 _ "github.com/hashicorp/hcl/v2/gohcl"
 _ "github.com/hashicorp/hcl/v2/hclsyntax"
 _ "github.com/hashicorp/go-hclog"
 _ "github.com/mattn/go-sqlite3"
 _ "github.com/fsnotify/fsnotify"
 _ "github.com/google/uuid"
 _ "golang.org/x/term"
 _ "github.com/zclconf/go-cty/cty"
)
