# Development configuration used by `make run`: everything lives inside the
# source tree (paths are relative to this file), the API listens on
# localhost only. See etc/wigo.hcl for every option.
group             = "dev"
probes_dir        = "../probes"
probes_config_dir = "conf.d"
plugins_dir       = "../bin/plugins"
database          = "../var/wigo.db"
uuid_file         = "../var/uuid"
log_level         = "info"

http {
  address = "127.0.0.1"
  port    = 4000
}
