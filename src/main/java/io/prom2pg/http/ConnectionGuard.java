package io.prom2pg.http;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.CharsetUtil;
import org.apache.camel.CamelContext;
import org.apache.camel.component.netty.DefaultChannelHandlerFactory;
import org.apache.camel.spi.OnCamelContextStarted;

/**
 * Keeps slow, idle and too many clients from holding the data port. netty-http takes it as an
 * {@code encoders} entry and puts one handler per connection right after the HTTP codec, where it sees requests
 * coming in and answers going out:
 * <ul>
 * <li>a connection past {@code maxConnections} is closed as soon as it opens;</li>
 * <li>a connection with no request started within {@code idleTimeoutMs} (after it opened or its
 * last answer was sent) is closed;</li>
 * <li>a request whose body has not fully arrived {@code readTimeoutMs} after its headers is
 * answered 408 and its connection closed;</li>
 * <li>a connection whose client has not taken a piece of an answer within {@code writeTimeoutMs}
 * (it stopped reading a report) is closed.</li>
 * </ul>
 * The time a request spends being processed is not limited here: admission and the database's
 * timeouts bound it, and the client is waiting for its answer.
 */
public class ConnectionGuard extends DefaultChannelHandlerFactory implements OnCamelContextStarted {

    private int maxConnections = 512;
    private long idleTimeoutMs = 120_000;
    private long readTimeoutMs = 30_000;
    private long writeTimeoutMs = 30_000;

    private final AtomicInteger open = new AtomicInteger();
    private volatile Counter refused;
    private volatile Counter readTimeouts;
    private volatile Counter idleTimeouts;
    private volatile Counter writeTimeouts;

    public void setMaxConnections(int maxConnections) {
        this.maxConnections = maxConnections;
    }

    public void setIdleTimeoutMs(long idleTimeoutMs) {
        this.idleTimeoutMs = idleTimeoutMs;
    }

    public void setReadTimeoutMs(long readTimeoutMs) {
        this.readTimeoutMs = readTimeoutMs;
    }

    public void setWriteTimeoutMs(long writeTimeoutMs) {
        this.writeTimeoutMs = writeTimeoutMs;
    }

    @Override
    public void onContextStarted(CamelContext context) {
        MeterRegistry registry = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (registry == null) {
            return;
        }
        Gauge.builder("prom2pg.http.connections", open, AtomicInteger::get)
                .description("Open connections to the data port").register(registry);
        refused = Counter.builder("prom2pg.http.connections.refused")
                .description("Connections closed at once because prom2pg.http.max-connections were open").register(registry);
        readTimeouts = timeouts(registry, "read");
        idleTimeouts = timeouts(registry, "idle");
        writeTimeouts = timeouts(registry, "write");
    }

    private static Counter timeouts(MeterRegistry registry, String phase) {
        return Counter.builder("prom2pg.http.timeouts").tag("phase", phase)
                .description("Connections closed for a request body, a next request or the taking of an answer not done in time")
                .register(registry);
    }

    public int openConnections() {
        return open.get();
    }

    /** The handler for a new connection. */
    @Override
    public ChannelHandler newChannelHandler() {
        return new Guard();
    }

    private static void count(Counter counter) {
        if (counter != null) {
            counter.increment();
        }
    }

    /**
     * One connection's state: requests read and answers sent are counted, so that the wait for
     * the next request starts only when every request read has been answered (an answer may also
     * come before its request's body, or while the next request is read).
     */
    private final class Guard extends ChannelDuplexHandler {

        private ScheduledFuture<?> timer;
        private boolean counted;
        private boolean reading;
        private long requestsRead;
        private long answersSent;

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            counted = true;
            if (open.incrementAndGet() > maxConnections) {
                count(refused);
                ctx.close();
                return;
            }
            awaitRequest(ctx);
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            cancel();
            if (counted) {
                counted = false;
                open.decrementAndGet();
            }
            super.channelInactive(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof HttpRequest) {
                reading = true;
                schedule(ctx, readTimeoutMs, () -> {
                    count(readTimeouts);
                    FullHttpResponse answer = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                            HttpResponseStatus.REQUEST_TIMEOUT, Unpooled.copiedBuffer(
                                    "request body not received within " + readTimeoutMs + " ms\n", CharsetUtil.UTF_8));
                    answer.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                            .set(HttpHeaderNames.CONTENT_LENGTH, answer.content().readableBytes())
                            .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                    ctx.channel().writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
                });
            }
            if (msg instanceof LastHttpContent && reading) {
                reading = false;
                requestsRead++;
                idleIfAnswered(ctx); // else processing: the answer starts the wait
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            boolean last = msg instanceof LastHttpContent;
            if (last || writeTimeoutMs > 0) {
                promise = promise.unvoid();
                // a client that stops reading an answer must not hold it (and its database cursor) for ever
                ScheduledFuture<?> stalled = writeTimeoutMs <= 0 ? null : ctx.executor().schedule(() -> {
                    count(writeTimeouts);
                    ctx.close();
                }, writeTimeoutMs, TimeUnit.MILLISECONDS);
                promise.addListener(f -> onEventLoop(ctx, () -> {
                    if (stalled != null) {
                        stalled.cancel(false);
                    }
                    if (last && f.isSuccess()) {
                        answersSent++;
                        idleIfAnswered(ctx);
                    }
                }));
            }
            super.write(ctx, msg, promise);
        }

        private void idleIfAnswered(ChannelHandlerContext ctx) {
            if (!reading && answersSent >= requestsRead && ctx.channel().isActive()) {
                awaitRequest(ctx);
            } else if (!reading) {
                cancel();
            }
        }

        private void awaitRequest(ChannelHandlerContext ctx) {
            schedule(ctx, idleTimeoutMs, () -> {
                count(idleTimeouts);
                ctx.close();
            });
        }

        private void schedule(ChannelHandlerContext ctx, long millis, Runnable onTimeout) {
            cancel();
            if (millis > 0) {
                timer = ctx.executor().schedule(onTimeout, millis, TimeUnit.MILLISECONDS);
            }
        }

        private void cancel() {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }

        private void onEventLoop(ChannelHandlerContext ctx, Runnable task) {
            if (ctx.executor().inEventLoop()) {
                task.run();
            } else {
                ctx.executor().execute(task);
            }
        }
    }
}
