#!/usr/bin/python3
"""notify-python: a complete Wigo notifier written in Python.

It is built from the protobuf files alone (sdk/proto/wigo/plugin/v1 for
Wigo's contract, proto/goplugin/ for go-plugin's health and shutdown
services), with Debian's python3-grpcio, python3-protobuf and
python3-cryptography. It POSTs each notification, as the JSON the core
hands it, to the block's url:

    notify "py" {
      plugin  = "notify-python"
      url     = "https://hooks.example/wigo"
      timeout = 10             # seconds, default 10
    }

build.sh installs it into a plugins_dir with its generated modules;
docs/plugins-other-languages.md walks through what a plugin in any
language implements, in the order this file does it.
"""

import base64
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent import futures

NAME = "notify-python"
VERSION = "1.0.0"

# The handshake: the core sets the magic cookie in the environment and
# lists the protocol versions it speaks (sdk/handshake.go); the plugin
# answers with one line on stdout.
COOKIE_KEY = "WIGO_PLUGIN"
COOKIE_VALUE = "8d4c1bba-7f6e-4b38-9a3c-wigo-plugin-v1"
CORE_PROTOCOL_VERSION = 1  # go-plugin's own
APP_PROTOCOL_VERSION = 1  # Wigo's, sdk.ProtocolVersion

# The generated modules live next to the script (build.sh puts them there).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), NAME + ".lib"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turns a redirect into an HTTPError (urllib's default handler raises
    it when no redirect request is made)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


log_lock = threading.Lock()  # one whole line at a time, from any thread


def log(level, message, **kv):
    """Writes one hclog JSON line to stderr. go-plugin reads the plugin's
    stderr line by line and logs a JSON line at its @level in the core's
    log, under the instance's name, with the other keys as key/values;
    any other line would arrive at debug level."""
    entry = {
        "@level": level,
        "@message": message,
        # go-plugin parses exactly this layout (microseconds, then a zone).
        "@timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    entry.update(kv)
    with log_lock:
        sys.stderr.write(json.dumps(entry) + "\n")
        sys.stderr.flush()


def server_certificate():
    """Makes the plugin's side of AutoMTLS: a self-signed certificate for
    "localhost" that the core trusts for this one connection, since the
    plugin sends it back in the handshake line. Returns (key PEM, cert PEM,
    cert DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=3650))
        # The core dials with ServerName "localhost" and verifies the chain
        # against this certificate alone, as go-plugin's own plugins do.
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


def main():
    if os.environ.get(COOKIE_KEY) != COOKIE_VALUE:
        sys.stderr.write("This is a Wigo notifier plugin: the wigo daemon starts it from plugins_dir;\n"
                         "it is not a program to run by hand.\n")
        return 1
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(APP_PROTOCOL_VERSION)).split(",")
    if str(APP_PROTOCOL_VERSION) not in offered:
        log("error", "the daemon speaks another plugin protocol version",
            plugin_speaks=APP_PROTOCOL_VERSION, daemon_offers=",".join(offered))
        return 1
    try:
        import grpc
        from google.protobuf import empty_pb2
        from goplugin import grpc_controller_pb2, grpc_controller_pb2_grpc, health_pb2, health_pb2_grpc
        from wigo.plugin.v1 import base_pb2, notifier_pb2, notifier_pb2_grpc
    except ImportError as e:
        # The core shows that the process exited before its handshake; this
        # line in its log says why.
        log("error", "cannot load the plugin's Python modules: install python3-grpcio and "
            "python3-protobuf, and build the plugin with build.sh", error=str(e))
        return 1

    stop = threading.Event()

    class Notifier(notifier_pb2_grpc.NotifierServicer):
        """wigo.plugin.v1.Notifier (notifier.proto). The core calls Schema,
        then Configure with the operator's block decoded against it, then
        Notify for every notification, one call at a time."""

        def __init__(self):
            self.lock = threading.Lock()
            self.instance = ""
            self.url = None
            self.timeout = 10.0
            self.opener = None

        def Schema(self, request, context):
            # The core decodes the operator's block against this itself:
            # a typo or a wrong type never reaches Configure, and is
            # reported with file, line and column.
            return base_pb2.SchemaResponse(
                info=base_pb2.PluginInfo(name=NAME, version=VERSION, kind="notifier"),
                schema=base_pb2.Schema(attributes=[
                    base_pb2.Attribute(name="url", type="string", required=True,
                                       description="Where each notification is POSTed as JSON (http or https)."),
                    base_pb2.Attribute(name="timeout", type="number", default_json=b"10",
                                       description="Seconds a delivery may take."),
                ]))

        def Configure(self, request, context):
            # Checks what a schema cannot say; an error refuses the config
            # and the instance does not run. A diagnostic with a path is
            # shown at that attribute's line and column; a bare error (as
            # the timeout check sends, and as a plugin written before
            # diagnostics does) at the block. Set error as well, for hosts
            # that do not read diagnostics.
            try:
                cfg = json.loads(request.config_json or b"{}")
            except ValueError as e:
                return base_pb2.ConfigureResponse(error="decode config: %s" % e)
            if not isinstance(cfg, dict):
                return base_pb2.ConfigureResponse(error="config is not a JSON object")
            url, timeout = cfg.get("url") or "", cfg.get("timeout")
            parsed = urllib.parse.urlsplit(url if isinstance(url, str) else "")
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                detail = "%s is not an absolute http:// or https:// URL." % json.dumps(url)
                return base_pb2.ConfigureResponse(
                    error="url: " + detail,
                    diagnostics=[base_pb2.Diagnostic(
                        severity=base_pb2.Diagnostic.ERROR,
                        summary='Invalid value for "url"', detail=detail,
                        path=[base_pb2.PathStep(name="url")])])
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
                return base_pb2.ConfigureResponse(
                    error="timeout %s: want a number of seconds above 0" % json.dumps(timeout))
            # A redirect is a failed delivery, not a GET of another URL
            # (what urllib makes of a redirected POST); a receiver on this
            # machine is reached directly whatever http_proxy says, as Go's
            # HTTP client does.
            handlers = [NoRedirect()]
            if parsed.hostname in ("localhost", "127.0.0.1", "::1"):
                handlers.append(urllib.request.ProxyHandler({}))
            with self.lock:
                self.instance, self.url, self.timeout = request.instance, url, float(timeout)
                self.opener = urllib.request.build_opener(*handlers)
            log("info", "configured", instance=request.instance, url=url)
            return base_pb2.ConfigureResponse()

        def Notify(self, request, context):
            # An error in the reply makes the core retry later with backoff
            # (then dead-letter); the same EventId may come twice.
            with self.lock:
                url, timeout, opener = self.url, self.timeout, self.opener
            if url is None:
                return notifier_pb2.NotifyResponse(error="not configured")
            try:
                n = json.loads(request.notification_json)
            except ValueError as e:
                return notifier_pb2.NotifyResponse(error="decode notification: %s" % e)
            event = n.get("EventId", "") if isinstance(n, dict) else ""
            # Within the core's deadline for the call too, when it set one.
            left = context.time_remaining()
            if left is not None:
                timeout = max(0.001, min(timeout, left))
            req = urllib.request.Request(url, data=request.notification_json, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with opener.open(req, timeout=timeout) as resp:
                    resp.read()
            except urllib.error.HTTPError as e:
                return notifier_pb2.NotifyResponse(error="POST %s: %d %s" % (url, e.code, e.reason))
            except (urllib.error.URLError, OSError) as e:
                return notifier_pb2.NotifyResponse(error="POST %s: %s" % (url, getattr(e, "reason", e)))
            log("debug", "notification delivered", event=event, url=url)
            return notifier_pb2.NotifyResponse()

    class Health(health_pb2_grpc.HealthServicer):
        """grpc.health.v1.Health: the core checks service "plugin" every
        second and restarts a plugin that does not answer SERVING."""

        def Check(self, request, context):
            if request.service not in ("", "plugin"):
                context.abort(grpc.StatusCode.NOT_FOUND, "unknown service %r" % request.service)
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    class Controller(grpc_controller_pb2_grpc.GRPCControllerServicer):
        """plugin.GRPCController: how the core asks the plugin to exit when
        it stops it. The core kills a plugin still there 2 s later."""

        def Shutdown(self, request, context):
            log("info", "shutdown requested by the daemon")
            stop.set()
            return grpc_controller_pb2.Empty()

    def stdio(request, context):
        # plugin.GRPCStdio streams what a Go plugin prints: this plugin
        # logs straight to stderr and prints nothing, so the stream ends at
        # once (without the service the core would warn at every start).
        return iter(())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    notifier_pb2_grpc.add_NotifierServicer_to_server(Notifier(), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(Controller(), server)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("plugin.GRPCStdio", {
        "StreamStdio": grpc.unary_stream_rpc_method_handler(
            stdio, request_deserializer=empty_pb2.Empty.FromString),
    }),))

    # A Unix socket in a directory of our own, like go-plugin's Go plugins.
    sockdir = tempfile.mkdtemp(prefix=NAME + "-", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or None)
    sock = os.path.join(sockdir, "plugin.sock")
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT", "")
    cert_field = ""
    try:
        if client_cert:
            # AutoMTLS: the core put its certificate in the environment;
            # only a client holding its key may call us, and we answer with
            # our own.
            key_pem, cert_pem, cert_der = server_certificate()
            creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_cert.encode(),
                                                require_client_auth=True)
            bound = server.add_secure_port("unix:" + sock, creds)
            # Raw (unpadded) standard base64 of the DER certificate.
            cert_field = "|" + base64.b64encode(cert_der).decode().rstrip("=")
        else:
            # A host without AutoMTLS (go-plugin's default) speaks plaintext.
            bound = server.add_insecure_port("unix:" + sock)
    except (RuntimeError, ValueError) as e:
        bound, why = 0, str(e)
    else:
        why = "the gRPC server refused the address"
    if not bound:
        log("error", "cannot listen", socket=sock, error=why)
        shutil.rmtree(sockdir, ignore_errors=True)
        return 1

    # Ctrl-C in the daemon's terminal reaches the whole process group: the
    # daemon decides when its plugins stop, as go-plugin's Go plugins do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    server.start()

    sys.stdout.write("%d|%d|unix|%s|grpc%s\n" % (CORE_PROTOCOL_VERSION, APP_PROTOCOL_VERSION, sock, cert_field))
    sys.stdout.flush()
    # stdout carried the handshake; anything printed later goes to stderr,
    # where the core logs it at debug level.
    sys.stdout = sys.stderr
    log("info", "serving", version=VERSION, socket=sock, mtls=bool(client_cert))

    stop.wait()
    server.stop(grace=1).wait()
    shutil.rmtree(sockdir, ignore_errors=True)
    log("info", "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
