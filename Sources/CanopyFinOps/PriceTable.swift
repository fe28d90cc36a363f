import Foundation

/// The public on-demand prices Canopy estimates with (demo costs now; savings recommendations
/// later). Source: AWS's published on-demand price pages for Linux, shared tenancy, us-east-1
/// (EC2 <https://aws.amazon.com/ec2/pricing/on-demand/>, EBS, RDS, VPC/NAT, public IPv4, KMS, S3
/// Standard), as listed in January 2025. Other regions scale by `regionFactor`, a simplification
/// stated here rather than a price: real regional prices differ per item.
public enum PriceTable {
    public static let source = "AWS public on-demand prices, Linux, us-east-1, January 2025"

    /// USD per instance-hour.
    public static let ec2Hourly: [String: Decimal] = [
        "t2.micro": Decimal(string: "0.0116")!, "t2.medium": Decimal(string: "0.0464")!, "t2.large": Decimal(string: "0.0928")!,
        "t3.small": Decimal(string: "0.0208")!, "t3.medium": Decimal(string: "0.0416")!, "t3.large": Decimal(string: "0.0832")!,
        "m3.medium": Decimal(string: "0.067")!, "m4.large": Decimal(string: "0.10")!, "m5.large": Decimal(string: "0.096")!,
        "m5.xlarge": Decimal(string: "0.192")!, "m5.2xlarge": Decimal(string: "0.384")!, "c4.xlarge": Decimal(string: "0.199")!,
        "r4.large": Decimal(string: "0.133")!, "r5.xlarge": Decimal(string: "0.252")!, "m6g.large": Decimal(string: "0.077")!,
        "m7g.large": Decimal(string: "0.0816")!, "t4g.medium": Decimal(string: "0.0336")!, "t3.micro": Decimal(string: "0.0104")!,
        "c5.xlarge": Decimal(string: "0.17")!, "r5.large": Decimal(string: "0.126")!, "m6g.xlarge": Decimal(string: "0.154")!,
        "m6g.2xlarge": Decimal(string: "0.308")!, "t4g.small": Decimal(string: "0.0168")!, "t4g.large": Decimal(string: "0.0672")!,
        "t4g.micro": Decimal(string: "0.0084")!, "r6g.large": Decimal(string: "0.1008")!, "r6g.xlarge": Decimal(string: "0.2016")!,
        "c6g.xlarge": Decimal(string: "0.136")!,
    ]
    /// USD per GB-month of EBS snapshot storage (standard tier).
    public static let snapshotGBMonth = Decimal(string: "0.05")!
    /// Hours in a month, as AWS prices monthly figures.
    public static let hoursPerMonth = Decimal(730)
    /// USD per DB-instance-hour, RDS for MySQL (single-AZ; multi-AZ doubles).
    public static let rdsHourly: [String: Decimal] = [
        "db.m5.large": Decimal(string: "0.171")!, "db.t3.medium": Decimal(string: "0.068")!, "db.r5.large": Decimal(string: "0.25")!,
        "db.t2.medium": Decimal(string: "0.068")!, "db.m4.large": Decimal(string: "0.175")!,
    ]
    /// USD per GB-month.
    public static let ebsGBMonth: [String: Decimal] = [
        "gp2": Decimal(string: "0.10")!, "gp3": Decimal(string: "0.08")!, "io1": Decimal(string: "0.125")!, "st1": Decimal(string: "0.045")!,
        "sc1": Decimal(string: "0.015")!, "standard": Decimal(string: "0.05")!,
    ]
    public static let rdsStorageGBMonth = Decimal(string: "0.115")!
    public static let s3StandardGBMonth = Decimal(string: "0.023")!
    /// S3 Intelligent-Tiering's Infrequent Access tier, USD per GB-month, and its monitoring
    /// fee, USD per 1,000 objects a month.
    public static let s3InfrequentAccessGBMonth = Decimal(string: "0.0125")!
    public static let s3IntelligentTieringMonitoringPer1000 = Decimal(string: "0.0025")!
    public static let natGatewayHourly = Decimal(string: "0.045")!
    public static let publicIPv4Hourly = Decimal(string: "0.005")!
    public static let kmsKeyMonth = Decimal(1)

    public static func regionFactor(_ region: String) -> Decimal {
        switch region {
        case "us-east-1", "us-east-2", "us-west-2": 1
        case "ap-northeast-1": Decimal(string: "1.29")!
        default: Decimal(string: "1.15")!
        }
    }
}
