import {
  DescribeAccountLimitsCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * An in-memory ELBv2 (one ALB) that follows the documented semantics the preview edge relies
 * on, served through aws-sdk-client-mock. moto does not enforce them. From the Elastic Load
 * Balancing API Reference (Version 2015-12-01):
 * - CreateListener fails with DuplicateListener ("A listener with the specified port already
 *   exists") and TooManyListeners ("You've reached the limit on the number of listeners per
 *   load balancer").
 * - CreateRule fails with PriorityInUse ("The specified priority is in use") and TooManyRules
 *   ("You've reached the limit on the number of rules per load balancer"); the quota does not
 *   count default rules ("Quotas for your Application Load Balancers").
 * - Associating one more target group than the quota fails with TooManyTargetGroups.
 * - DescribeRules lists the listener's default rule with IsDefault true and Priority "default".
 * - DescribeTargetGroups with LoadBalancerArn lists the groups a listener or rule of that load
 *   balancer forwards to.
 * - DescribeAccountLimits answers Limits of { Name, Max } with Max a string.
 * Pages hold `pageSize` items and continue with NextMarker, as the API paginates.
 */

export const EDGE_ARN =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge/0123456789abcdef';
export const HTTPS_LISTENER_ARN = `${EDGE_ARN.replace(':loadbalancer/', ':listener/')}/443`;

function fail(name: string, message: string): never {
  throw new ElasticLoadBalancingV2ServiceException({
    name,
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

interface FakeListener {
  arn: string;
  port: number;
  targetGroupArn: string | undefined;
}

interface FakeRule {
  listenerArn: string;
  priority: number;
  targetGroupArn: string;
}

export class Elbv2Fake {
  readonly client = new ElasticLoadBalancingV2Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  readonly listeners: FakeListener[] = [];
  readonly rules: FakeRule[] = [];
  limits = { listeners: 50, rules: 100, targetGroups: 100 };
  /** Items per Describe page (small, so the tests exercise NextMarker). */
  pageSize = 2;
  /** Every command name in call order. */
  readonly calls: string[] = [];

  constructor(options: { httpsListener?: boolean } = {}) {
    if (options.httpsListener)
      this.listeners.push({ arn: HTTPS_LISTENER_ARN, port: 443, targetGroupArn: undefined });
    const mock = mockClient(this.client);
    const page = <T>(items: T[], marker: string | undefined): { page: T[]; next?: string } => {
      const start = marker ? Number(marker) : 0;
      const next = start + this.pageSize < items.length ? String(start + this.pageSize) : undefined;
      return { page: items.slice(start, start + this.pageSize), ...(next ? { next } : {}) };
    };
    mock.on(DescribeListenersCommand).callsFake((input) => {
      this.calls.push('DescribeListeners');
      if (input.LoadBalancerArn !== EDGE_ARN)
        fail('LoadBalancerNotFound', 'One or more load balancers not found');
      const { page: items, next } = page(this.listeners, input.Marker);
      return {
        Listeners: items.map((l) => ({ ListenerArn: l.arn, Port: l.port, LoadBalancerArn: EDGE_ARN })),
        NextMarker: next,
      };
    });
    mock.on(DescribeRulesCommand).callsFake((input) => {
      this.calls.push('DescribeRules');
      const listener = this.listeners.find((l) => l.arn === input.ListenerArn);
      if (!listener) fail('ListenerNotFound', 'One or more listeners not found');
      const all: Rule[] = [
        ...this.rules
          .filter((r) => r.listenerArn === listener.arn)
          .map((r) => ({ Priority: String(r.priority), IsDefault: false })),
        { Priority: 'default', IsDefault: true },
      ];
      const { page: items, next } = page(all, input.Marker);
      return { Rules: items, NextMarker: next };
    });
    mock.on(DescribeTargetGroupsCommand).callsFake((input) => {
      this.calls.push('DescribeTargetGroups');
      const arns = [...this.associatedTargetGroups()];
      const { page: items, next } = page(arns, input.Marker);
      return {
        TargetGroups: items.map((arn) => ({ TargetGroupArn: arn, LoadBalancerArns: [EDGE_ARN] })),
        NextMarker: next,
      };
    });
    mock.on(DescribeAccountLimitsCommand).callsFake(() => {
      this.calls.push('DescribeAccountLimits');
      return {
        Limits: [
          { Name: 'application-load-balancers', Max: '50' },
          { Name: 'listeners-per-application-load-balancer', Max: String(this.limits.listeners) },
          { Name: 'rules-per-application-load-balancer', Max: String(this.limits.rules) },
          { Name: 'target-groups-per-application-load-balancer', Max: String(this.limits.targetGroups) },
        ],
      };
    });
  }

  private associatedTargetGroups(): Set<string> {
    const arns = new Set<string>();
    for (const l of this.listeners) if (l.targetGroupArn) arns.add(l.targetGroupArn);
    for (const r of this.rules) arns.add(r.targetGroupArn);
    return arns;
  }

  private checkTargetGroup(arn: string): void {
    const associated = this.associatedTargetGroups();
    if (!associated.has(arn) && associated.size >= this.limits.targetGroups)
      fail(
        'TooManyTargetGroups',
        "You've reached the limit on the number of target groups for your AWS account.",
      );
  }

  /** What CloudFormation's AWS::ElasticLoadBalancingV2::Listener create calls. */
  createListener(port: number, targetGroupArn: string): string {
    if (this.listeners.some((l) => l.port === port))
      fail('DuplicateListener', 'A listener with the specified port already exists.');
    if (this.listeners.length >= this.limits.listeners)
      fail('TooManyListeners', "You've reached the limit on the number of listeners per load balancer.");
    this.checkTargetGroup(targetGroupArn);
    const arn = `${EDGE_ARN.replace(':loadbalancer/', ':listener/')}/${port}`;
    this.listeners.push({ arn, port, targetGroupArn });
    return arn;
  }

  /** What CloudFormation's AWS::ElasticLoadBalancingV2::ListenerRule create calls. */
  createRule(listenerArn: string, priority: number, targetGroupArn: string): void {
    if (this.rules.some((r) => r.listenerArn === listenerArn && r.priority === priority))
      fail('PriorityInUse', 'The specified priority is in use.');
    if (this.rules.length >= this.limits.rules)
      fail('TooManyRules', "You've reached the limit on the number of rules per load balancer.");
    this.checkTargetGroup(targetGroupArn);
    this.rules.push({ listenerArn, priority, targetGroupArn });
  }

  deleteListener(port: number): void {
    const index = this.listeners.findIndex((l) => l.port === port);
    if (index >= 0) this.listeners.splice(index, 1);
  }
}
