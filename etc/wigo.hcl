# /etc/wigo/wigo.hcl: Wigo ("What Is Going On") configuration.
#
# Every option is shown with its default. Drop-ins in /etc/wigo/wigo.d/*.hcl are
# read after this file, in lexical order, and override it (see wigo.d/README).
# Relative paths are resolved against the directory of the file that sets them.
# Check a configuration without running it: wigo -c /etc/wigo/wigo.hcl -check
#
# "Was:" names the option of the original wigo.conf (TOML) that each one
# replaces, so an old configuration can be carried over line by line.

# Name of this host in the API and in notifications. "" = the system hostname.
# Was: Global.Hostname
hostname = ""

# Group of this host (webserver, loadbalancer, ...), used to group hosts in the
# API and the UI. "" = no group.
# Was: Global.Group
group = ""

# Probes: executables under probes_dir/<seconds>/NAME run every <seconds>
# (usually links to probes_dir/examples/NAME; the package links examples to
# /usr/lib/wigo/probes/examples). The original used /usr/local/wigo/probes.
# Was: Global.ProbesDirectory
probes_dir = "/etc/wigo/probes"

# Probe settings directory, given to probes as WIGO_PROBE_CONFIG_ROOT.
# Was: Global.ProbesConfigDirectory
probes_config_dir = "/etc/wigo/conf.d"

# Where plugin binaries (notify-http, transport-push, ...) are looked up.
# New: the original had everything built in.
plugins_dir = "/usr/lib/wigo/plugins"

# SQLite database: status-change log, notification outbox.
# Was: Global.Database
database = "/var/lib/wigo/wigo.db"

# Or the same tables in PostgreSQL (docs/operators.md, "The database on
# PostgreSQL"); database is then unused. dsn_file keeps the password out
# of this file.
# store "postgres" {
#   dsn_file = "/etc/wigo/db.dsn"
# }

# This instance's UUID, created on first start. Keep it: masters recognise
# this host by it.
# Was: Global.UuidFile
uuid_file = "/var/lib/wigo/uuid"

# Daemon log file. "" = stderr, which systemd sends to the journal.
# Was: Global.LogFile (default "/var/log/wigo.log")
log_file = ""

# Seconds without news from a host before it is marked DOWN (status 999).
# Must be greater than 0.
# Was: Global.AliveTimeout
alive_timeout = 60

# Log verbosity: trace, debug, info, warn or error.
# Was: Global.Debug (true = "debug")
log_level = "info"

# Seconds a probe may run before it is killed (with its process group) and
# reported as status 500. 0 = the probe's interval minus one second.
# New.
probe_timeout = 0

# Check attempts: how many results in a row at a new status confirm a
# probe's change before it is notified (and logged as a change); the ones
# before are "soft" and held back. 1 = notify at the first result.
# recovery_attempts is the same for a recovery to OK.
# New (the original's RemoteWigos.CheckTries is the pull retries).
attempts          = 1
recovery_attempts = 1

# HTTP server: the API (original routes), the websocket and the web UI.
http {
  # Serve HTTP at all. A push client nobody polls can turn it off.
  # Was: Http.Enabled
  enabled = true

  # Listen address and port (0 = any free port).
  # Was: Http.Address, Http.Port
  address = "0.0.0.0"
  port    = 4000

  # PEM certificate and key. HTTPS when both are set; setting only one is an
  # error. Every route, the websocket included, is then served over TLS.
  # Was: Http.SslEnabled + Http.SslCert + Http.SslKey
  tls_cert = ""
  tls_key  = ""

  # One admin user for basic auth (more users, with roles: user blocks
  # below); give both or neither.
  # Was: Http.Login, Http.Password
  login    = ""
  password = ""

  # What a request without credentials may do: "none" or "viewer" (a wall
  # screen without login). "" decides: without any login, user or
  # trusted_proxy anyone reads and this machine may change anything, as the
  # original; with one, "none". New.
  anonymous_role = ""

  # The dashboard's address as people reach it (through a proxy or a DNS
  # name), e.g. "https://wigo.example.org/": every notification then links
  # to its host there (the payload's DashboardUrl). New.
  public_url = ""

  # Single sign-on through a proxy that logs the user in (oauth2-proxy, an
  # SSO gateway) and names them in a header, believed from its addresses
  # only. New.
  # trusted_proxy {
  #   header       = "X-Forwarded-User"
  #   role_header  = "X-Forwarded-Role" # optional: viewer, operator or admin
  #   default_role = "viewer"
  #   from         = ["127.0.0.1"]
  # }

  # Gzip responses for clients that accept it.
  # Was: Http.Gzip (later versions of the original)
  gzip = true

  # Carry out probe control forwarded by a master that pulls this instance
  # (run now, disable, enable, the schedule: the master sends an operator's
  # token of this instance, see transport "pull" control_token). Off:
  # refused with 403. New.
  remote_control = false

  # Names this instance answers to in the Host header; other names are
  # refused (DNS rebinding). Empty: localhost, the host names and the listen
  # addresses. Add the name a proxy, a DNS alias or a NAT address uses;
  # "*" turns the check off. New (the original accepted any name).
  allowed_hosts = []

  # Other origins whose pages may make changes here and open the websocket,
  # e.g. ["https://noc.example.org"]. The dashboard's own origin always may.
  # New.
  allowed_origins = []
}

# Users for basic auth, with a role: viewer (reads), operator (also acks,
# silences, approves push clients), admin (also tokens, relaying). The hash
# comes from `wigo passwd`. API tokens: `wigo token create`. New.
# user "alice" {
#   password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
#   role          = "operator"
# }

# Status-change log (the log table of the API and the UI).
logs {
  # Days of log entries to keep. 0 = keep forever.
  # New: the original never pruned it.
  retention_days = 30
}

# Flap detection: a host or probe whose status changed more than threshold
# times within window seconds is flapping: one notification says it
# started, its changes are then held back (logged "not notified:
# flapping"), one says it stopped once fewer than half as many changes
# remain within the window. threshold = 0 turns it off.
# New.
flapping {
  window    = 3600
  threshold = 5
}

# Metric history: every metric of every probe kept in the database for the
# charts and GET /api/hosts/HOST/probes/PROBE/metrics. Each point is kept
# raw_retention seconds (48 h), then as 5-minute rollups (min, max,
# average, count, last) for retention seconds (30 days). remote_hosts also
# keeps the metrics of the hosts a master learns. New.
history {
  enabled       = true
  remote_hosts  = false
  raw_retention = 172800
  retention     = 2592000
}

# Default event filter of every notify block; each notify block can override
# any of these four attributes for itself.
notifications {
  # A probe change is sent when the new status is at least min_level, or when
  # it recovers from a status that was at least min_level. 100..999.
  # Was: Notifications.MinLevelToSend
  min_level = 250

  # Send probe status changes.
  # Was: Notifications.OnProbeChange
  on_probe_change = true

  # Send host DOWN / UP events.
  # Was: Notifications.OnWigoChange
  on_host_change = true

  # Send only recoveries (back under min_level) of probe changes.
  # Was: Notifications.RescueOnly
  rescue_only = false
}

# ---------------------------------------------------------------------------
# Plugins. Each block below starts one instance of a plugin binary from
# plugins_dir. The label names the instance; the binary defaults to
# "<kind>-<label>" (notify "http" runs notify-http) and `plugin = "..."` picks
# another one, so one plugin can run as several instances. Everything else in
# a block is the plugin's own schema: the plugin declares it and `wigo -check`
# validates it. The examples are commented out so that this file runs with no
# plugin installed; each plugin's README is the reference for its attributes.
# ---------------------------------------------------------------------------

# HTTP callback: POSTs each notification.
# Was: Notifications.HttpEnabled = 1, Notifications.HttpUrl
#
# notify "http" {
#   url = "https://hooks.example/wigo"
#
#   # The four notifications attributes may be overridden per notify block:
#   # min_level = 300
# }

# Email.
# Was: Notifications.EmailEnabled (1 = send; 2 = only if http failed:
#      fallback_for), EmailSmtpServer, EmailRecipients, EmailFromName,
#      EmailFromAddress
#
# notify "email" {
#   smtp_server  = "smtp.domain.tld:25"
#   to           = ["user@domain.tld", "user2@domain.tld"]
#   from_name    = "Wigo"
#   from_address = "wigo@domain.tld"
#   fallback_for = "http"        # send only when notify "http" fails
# }

# A second instance of the same plugin under another name.
#
# notify "ops" {
#   plugin      = "notify-email"
#   smtp_server = "smtp.example:25"
#   to          = ["ops@example.org"]
#   min_level   = 300
# }

# Apprise (https://github.com/caronc/apprise): one notification, any service.
# Was: Notifications.AppriseEnabled, AppriseUrls (later versions of the original)
#
# notify "apprise" {
#   urls = ["mailto://user:pass@example.org", "tgram://bottoken/ChatID"]
# }

# Metrics of every probe to OpenTSDB.
# Was: [OpenTSDB] Enabled (= the block is present), Address, SslEnabled,
#      MetricPrefix, Deduplication, BufferSize
#
# output "opentsdb" {
#   address       = ["localhost:4242"]
#   tls           = false
#   metric_prefix = "wigo"
#   tags          = { dc = "par1" } # OpenTSDB.Tags: added to every point
#   deduplication = 600           # seconds an unchanged value is not re-sent
#   buffer_size   = 10000         # points kept while OpenTSDB is unreachable
#   batch_size    = 500           # points per /api/put request
#   gzip          = false
#   load_balance  = "failover"    # or "round-robin" over the addresses
#   timeout       = "10s"
# }

# Pull: poll other Wigo instances (new or original) over their HTTP API.
# Was: [RemoteWigos] CheckInterval, SslEnabled, Login, Password, List and
#      [[AdvancedList]] (Hostname = label, Port, CheckInterval,
#      CheckRemotesDepth = depth)
#
# transport "pull" {
#   check_interval = 10           # seconds; defaults for every remote below
#   tls            = false
#   login          = ""
#   password       = ""
#
#   remote "10.0.0.2" {}          # simple form: List = ["10.0.0.2"]
#
#   remote "10.0.0.3" {           # advanced form: [[AdvancedList]]
#     port           = 4000       # default: http.port of this instance
#     tls            = true
#     login          = "wigo"
#     password       = "secret"
#     depth          = 1          # levels of its remotes to take; 0 = all
#     check_interval = 30
#     # Probe control of this remote's hosts from here (POST
#     # /api/hosts/HOST/probes/PROBE/run, disable, enable; the schedule):
#     # an operator's token of the remote, which must set
#     # http.remote_control = true. New.
#     control_token_file = "/etc/wigo/remote-10.0.0.3.token"
#   }
# }

# Push: clients behind NAT keep one TLS connection to a master. One instance
# can be a server, a client, or both (a relay).
# Was: [PushServer] and [PushClient] (Enabled = the sub-block is present;
#      SslEnabled: push is always TLS)
#
# transport "push" {
#   server {
#     address              = "0.0.0.0"                      # PushServer.Address
#     port                 = 4001                           # PushServer.Port
#     tls_cert             = "/etc/wigo/ssl/wigo.crt"       # PushServer.SslCert
#     tls_key              = "/etc/wigo/ssl/wigo.key"       # PushServer.SslKey
#     ca                   = "/etc/wigo/ssl/ca"             # CA signing client UUIDs
#     allowed_clients_file = "/var/lib/wigo/allowed_clients" # PushServer.AllowedClientsFile
#     auto_accept          = false                          # PushServer.AutoAcceptClients
#   }
#
#   client {
#     address       = "master.example.org"                  # PushClient.Address
#     port          = 4001                                  # PushClient.Port
#     master_cert   = "/var/lib/wigo/master.crt"            # PushClient.SslCert (pinned on first contact)
#     uuid_sig      = "/var/lib/wigo/uuid.sig"              # PushClient.UuidSig
#     push_interval = 10                                    # PushClient.PushInterval, seconds
#     allow_remote_control = false   # the master may run, disable and enable this instance's probes. New.
#   }
# }
