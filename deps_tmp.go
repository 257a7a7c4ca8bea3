//go:build tools

package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/chromedp/chromedp"
	_ "github.com/emersion/go-smtp"
	_ "github.com/gorilla/websocket"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/wneessen/go-mail"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
)
