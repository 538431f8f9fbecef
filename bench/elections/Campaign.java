import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * One campaigner of Curator's LeaderSelector, as Curator's documentation
 * shows it, for synod's benchmark harness (bench/elections compiles it at
 * run time against Debian's packaged jars and starts three).
 *
 * <p>It writes the lines bench/elections/campaigners.go describes on
 * stdout: "queued ID session_ms=N" once its lock node is in the queue,
 * "leader ID" when takeLeadership is called, "acted ID" after its first
 * act (a write through ZooKeeper), "deposed ID" when it stops leading
 * (interrupted: on SIGTERM, or when Curator gives leadership up because
 * its connection was suspended or its session lost), "resigned ID" on
 * SIGTERM after closing the selector and the client (which ends its
 * session).
 *
 * <p>Usage: Campaign ID CONNECT_STRING SESSION_MS (0: Curator's default).
 */
public final class Campaign {
    private static final String ELECTION = "/bench-election";
    private static final String ACT = "/bench-act";

    private static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Campaign ID CONNECT_STRING SESSION_MS");
            System.exit(2);
        }
        final String id = args[0];
        final int sessionMs = Integer.parseInt(args[2]);
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(args[1])
                .retryPolicy(new ExponentialBackoffRetry(1000, 3));
        if (sessionMs > 0) {
            // Curator's connection timeout (15 s) must not exceed the session.
            builder.sessionTimeoutMs(sessionMs).connectionTimeoutMs(Math.min(sessionMs, 15000));
        }
        final CuratorFramework client = builder.build();
        client.start();
        client.blockUntilConnected();

        final LeaderSelector selector = new LeaderSelector(client, ELECTION, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework c) throws Exception {
                emit("leader " + id);
                try {
                    c.create().orSetData().forPath(ACT, id.getBytes(StandardCharsets.UTF_8));
                    emit("acted " + id);
                    new CountDownLatch(1).await(); // lead until interrupted
                } finally {
                    emit("deposed " + id);
                }
            }
        });
        selector.setId(id);
        selector.autoRequeue();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            selector.close();
            client.close();
            emit("resigned " + id);
        }));
        selector.start();

        // Queued once our lock node is among the participants.
        while (true) {
            boolean queued = false;
            for (Participant p : selector.getParticipants()) {
                queued |= p.getId().equals(id);
            }
            if (queued) {
                break;
            }
            Thread.sleep(5);
        }
        emit("queued " + id + " session_ms=" + client.getZookeeperClient().getZooKeeper().getSessionTimeout());
        new CountDownLatch(1).await();
    }
}
