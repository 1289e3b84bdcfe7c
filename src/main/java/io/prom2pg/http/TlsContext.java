package io.prom2pg.http;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyManagementException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.apache.camel.CamelContext;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.apache.camel.support.jsse.SSLContextParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for the data port from PEM files: a certificate chain and a private key (PKCS#8, or the
 * traditional RSA and EC forms OpenShift and cert-manager issue), and optionally a CA for client
 * certificates. netty-http takes it as its
 * {@code sslContextParameters} and asks it for one engine per connection; before making one, it
 * notices when the files have changed (a renewed certificate, a rotated Kubernetes Secret) and
 * loads them again. A half-written or broken set is refused with a warning and the previous one
 * stays in use. The PEM files are read by Netty (with Bouncy Castle for the traditional forms).
 */
public class TlsContext extends SSLContextParameters {

    private static final Logger LOG = LoggerFactory.getLogger(TlsContext.class);
    private static final long CHECK_INTERVAL_NANOS = 1_000_000_000L;

    private boolean enabled;
    private String certFile = "";
    private String keyFile = "";
    private String clientCaFile = "";
    private boolean clientAuth;

    private volatile Loaded current;
    private volatile long lastCheck;

    private record Loaded(long version, SSLContext context) {
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public void setCertFile(String certFile) {
        this.certFile = certFile;
    }

    public void setKeyFile(String keyFile) {
        this.keyFile = keyFile;
    }

    public void setClientCaFile(String clientCaFile) {
        this.clientCaFile = clientCaFile;
    }

    public void setClientAuth(boolean clientAuth) {
        this.clientAuth = clientAuth;
    }

    /** Called by netty-http once, when the data port starts: a missing or unreadable file stops start-up. */
    @Override
    public SSLContext createSSLContext(CamelContext camelContext) {
        if (!enabled) {
            throw new IllegalStateException("TLS is used on the data port but prom2pg.tls.enabled is false");
        }
        if (certFile.isBlank() || keyFile.isBlank()) {
            throw new IllegalStateException("prom2pg.tls.enabled is true but prom2pg.tls.cert-file or prom2pg.tls.key-file is not set");
        }
        if (clientAuth && clientCaFile.isBlank()) {
            throw new IllegalStateException("prom2pg.tls.client-auth is true but prom2pg.tls.client-ca-file is not set");
        }
        try {
            current = load(version());
        } catch (IOException e) {
            throw new IllegalStateException("cannot load TLS certificate " + certFile + " and key " + keyFile + ": " + e.getMessage(), e);
        }
        LOG.info("TLS on the data port with {}{}", certFile,
                clientAuth ? ", client certificates signed by " + clientCaFile + " required" : "");
        return new SSLContext(new Reloading(), current.context().getProvider(), current.context().getProtocol()) {
        };
    }

    /** The context for a new connection, loaded again first if the files changed. */
    private SSLContext context() {
        long now = System.nanoTime();
        if (now - lastCheck >= CHECK_INTERVAL_NANOS) {
            lastCheck = now;
            reloadIfChanged();
        }
        return current.context();
    }

    private synchronized void reloadIfChanged() {
        try {
            long version = version();
            if (version != current.version()) {
                current = load(version);
                LOG.info("TLS certificate {} loaded again", certFile);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("TLS files changed but cannot be loaded, keeping the previous certificate: {}", e.getMessage());
        }
    }

    private Loaded load(long version) throws IOException {
        try {
            SslContextBuilder builder = SslContextBuilder.forServer(new File(certFile), new File(keyFile)).sslProvider(SslProvider.JDK);
            if (!clientCaFile.isBlank()) {
                builder.trustManager(new File(clientCaFile));
            }
            SSLContext context = ((JdkSslContext) builder.build()).context();
            checkKeyMatchesCertificate();
            return new Loaded(version, context);
        } catch (SSLException | IllegalArgumentException | GeneralSecurityException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * A certificate renewed before its key (or paired with the wrong one) loads without complaint
     * and then fails every handshake: the key must sign what the certificate's public key verifies.
     */
    private void checkKeyMatchesCertificate() throws IOException, GeneralSecurityException {
        PrivateKey key;
        try (PEMParser pem = new PEMParser(Files.newBufferedReader(Path.of(keyFile)))) {
            Object read = pem.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (read instanceof PEMKeyPair pair) {
                key = converter.getPrivateKey(pair.getPrivateKeyInfo());
            } else if (read instanceof PrivateKeyInfo info) {
                key = converter.getPrivateKey(info);
            } else {
                return; // an encrypted or unusual key: Netty has read it, the handshake will tell
            }
        }
        Certificate certificate;
        try (InputStream in = Files.newInputStream(Path.of(certFile))) {
            certificate = CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return;
        }
        byte[] probe = "prom2pg".getBytes(StandardCharsets.US_ASCII);
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(probe);
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(certificate.getPublicKey());
        verifier.update(probe);
        if (!verifier.verify(signature)) {
            throw new IOException("the private key in " + keyFile + " does not belong to the certificate in " + certFile);
        }
    }

    /** Changes when any of the files is replaced (modification time and size). */
    private long version() throws IOException {
        long version = 17;
        for (String file : new String[] {certFile, keyFile, clientCaFile}) {
            if (!file.isBlank()) {
                Path p = Path.of(file);
                version = version * 31 + Files.getLastModifiedTime(p).toMillis();
                version = version * 31 + Files.size(p);
            }
        }
        return version;
    }

    /** An SSLContext that hands every call to the latest loaded one. */
    private final class Reloading extends SSLContextSpi {

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            // the PEM files configure it
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return context().createSSLEngine();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return context().createSSLEngine(host, port);
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return context().getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return context().getServerSocketFactory();
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return context().getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return context().getClientSessionContext();
        }
    }
}
