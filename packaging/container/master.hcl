# Drop-in of the compose example's master: pull the agent container.
transport "pull" {
  check_interval = 10
  remote "agent" {}
}
