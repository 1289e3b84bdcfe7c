package io.prom2pg.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The connection state machine of the data port, on Netty's embedded channel with a frozen clock. */
class ConnectionGuardTest {

    /** Holds writes without completing them while {@code stalled}: a client that stopped reading. */
    static final class Network extends ChannelOutboundHandlerAdapter {
        boolean stalled;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (!stalled) {
                super.write(ctx, msg, promise);
            }
        }
    }

    Network network;

    EmbeddedChannel connection(int maxConnections, ConnectionGuard guard) throws Exception {
        guard.setMaxConnections(maxConnections);
        guard.setIdleTimeoutMs(10_000);
        guard.setReadTimeoutMs(1_000);
        guard.setWriteTimeoutMs(2_000);
        network = new Network();
        EmbeddedChannel channel = new EmbeddedChannel(false, false);
        channel.freezeTime();
        channel.pipeline().addLast(network, guard.newChannelHandler());
        channel.register();
        return channel;
    }

    static void pass(EmbeddedChannel channel, long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    static DefaultHttpRequest request() {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/api/v1/write");
    }

    static FullHttpResponse answer() {
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT);
    }

    @Test
    void should_answer_408_when_a_body_stalls_and_not_while_it_keeps_within_the_read_timeout() throws Exception {
        EmbeddedChannel channel = connection(10, new ConnectionGuard());
        channel.writeInbound(request(), new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[10])));
        pass(channel, 900);
        assertTrue(channel.isOpen());
        pass(channel, 200);
        FullHttpResponse timeout = channel.readOutbound();
        assertEquals(HttpResponseStatus.REQUEST_TIMEOUT, timeout.status());
        assertFalse(channel.isOpen());
    }

    @Test
    void should_not_time_out_while_a_request_is_processed_and_wait_for_the_next_after_the_answer() throws Exception {
        EmbeddedChannel channel = connection(10, new ConnectionGuard());
        channel.writeInbound(request(), LastHttpContent.EMPTY_LAST_CONTENT);
        pass(channel, 60_000); // a slow database: the client waits for its answer
        assertTrue(channel.isOpen());
        channel.writeOutbound(answer());
        pass(channel, 9_000);
        assertTrue(channel.isOpen());
        pass(channel, 1_100);
        assertFalse(channel.isOpen(), "idle after the answer");
    }

    @Test
    void should_wait_for_the_next_request_after_an_answer_sent_before_the_body_was_read() throws Exception {
        EmbeddedChannel channel = connection(10, new ConnectionGuard());
        channel.writeInbound(request());
        channel.writeOutbound(answer()); // e.g. 413 for a Content-Length over the limit
        channel.writeInbound(LastHttpContent.EMPTY_LAST_CONTENT);
        pass(channel, 10_100);
        assertFalse(channel.isOpen(), "an idle connection is closed even after an early answer");
    }

    @Test
    void should_keep_a_pipelined_request_open_until_its_own_answer() throws Exception {
        EmbeddedChannel channel = connection(10, new ConnectionGuard());
        channel.writeInbound(request(), LastHttpContent.EMPTY_LAST_CONTENT, request(), LastHttpContent.EMPTY_LAST_CONTENT);
        channel.writeOutbound(answer()); // the first answer; the second request is still processed
        pass(channel, 30_000);
        assertTrue(channel.isOpen());
        channel.writeOutbound(answer());
        pass(channel, 10_100);
        assertFalse(channel.isOpen());
    }

    @Test
    void should_close_a_connection_whose_client_stops_taking_a_streamed_answer() throws Exception {
        EmbeddedChannel channel = connection(10, new ConnectionGuard());
        channel.writeInbound(request(), LastHttpContent.EMPTY_LAST_CONTENT);
        channel.writeOutbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK),
                new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[8192])));
        network.stalled = true;
        channel.write(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[8192])));
        channel.flush();
        pass(channel, 1_900);
        assertTrue(channel.isOpen());
        pass(channel, 200);
        assertFalse(channel.isOpen(), "closed after the write timeout");
    }

    @Test
    void should_close_connections_past_the_cap_and_count_only_open_ones() throws Exception {
        ConnectionGuard guard = new ConnectionGuard();
        EmbeddedChannel first = connection(2, guard);
        EmbeddedChannel second = connection(2, guard);
        EmbeddedChannel third = connection(2, guard);
        assertTrue(first.isOpen() && second.isOpen());
        assertFalse(third.isOpen());
        assertEquals(2, guard.openConnections());
        first.close();
        assertEquals(1, guard.openConnections());
        assertTrue(connection(2, guard).isOpen(), "room again");
    }
}
