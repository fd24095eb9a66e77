package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.nptstream.flink.operator.NptFixtures;
import org.junit.jupiter.api.Test;

/** One session per model and setting in a process, closed with its last holder. */
class SharedSessionsTest {

    @Test
    void holdersOfOneModelShareOneSession() throws Exception {
        ModelBundle model = ModelBundle.load(NptFixtures.dir(NptFixtures.CAUSAL_CLS).toString());
        int before = SharedSessions.open();
        try (SharedSessions.Lease a = SharedSessions.acquire(model, Device.CPU, 1);
             SharedSessions.Lease b = SharedSessions.acquire(model, Device.CPU, 1);
             SharedSessions.Lease other = SharedSessions.acquire(model, Device.CPU, 2)) {
            assertSame(a.session(), b.session());
            assertNotSame(a.session(), other.session(), "another thread count is another session");
            assertEquals(before + 2, SharedSessions.open());
            a.close();
            a.close();
            assertEquals(before + 2, SharedSessions.open(), "b still holds it; closing a lease twice releases once");
        }
        assertEquals(before, SharedSessions.open());
    }
}
