using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ActivationQueueTests
{
    [Fact]
    public void The_queue_keeps_activation_order_as_a_queue_does_while_its_ring_wraps_and_grows()
    {
        var queue = new ActivationQueue();
        var expected = new Queue<PersistentObject>();
        var random = new Random(11);
        for (var step = 0; step < 20_000; step++)
        {
            // More enqueues than dequeues, so the ring grows while its head has moved past its start.
            if (random.Next(5) < 3 || expected.Count == 0)
            {
                var obj = new Node();
                queue.Enqueue(obj);
                expected.Enqueue(obj);
            }
            else
            {
                Assert.True(queue.TryDequeue(out var oldest));
                Assert.Same(expected.Dequeue(), oldest);
            }
            Assert.Equal(expected.Count, queue.Count);
        }
        var position = 0;
        foreach (var obj in expected) Assert.Same(obj, queue[position++]);
        while (expected.Count > 0)
        {
            Assert.True(queue.TryDequeue(out var oldest));
            Assert.Same(expected.Dequeue(), oldest);
        }
        Assert.False(queue.TryDequeue(out _));
    }
}
