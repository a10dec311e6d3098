"""The demo catalog's content: data items, resources and the bases of 不予共享 entries.

Fixed data (no randomness), expanded into catalog entries by ``govshare.demo.catalog``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Data items ------------------------------------------------------------------------------
# code 名称 type [sensitivity] [#id|#uscc] [| code list]; type: s<len> string, c<len> code,
# d date, t datetime, n decimal, i integer.
ITEM_TABLE = """
name 姓名 s50 name
id_card 公民身份号码 s18 id_card #id
gender 性别 c1 | GB/T 2261.1-2003 人的性别代码
ethnicity 民族 c2 | GB/T 3304-1991 中国各民族名称的罗马字母拼写法和代码
birth_date 出生日期 d
household_address 户籍地址 s200 address
residence_address 居住地址 s200 address
phone 联系电话 s20 mobile
address 地址 s200 address
division_code 行政区划代码 c6 | GB/T 2260-2007 中华人民共和国行政区划代码
household_no 户号 s20
relation_to_head 与户主关系 c2 | GB/T 4761-2008 家庭关系代码
marital_status 婚姻状况 c2 | GB/T 2261.2-2003 婚姻状况代码
education_level 文化程度 c2 | GB/T 4658-2006 学历代码
birthplace 出生地 s200 address
residence_permit_no 居住证编号 s30
registered_on 登记日期 d
died_on 死亡日期 d
cancel_reason 注销原因 c2 | 户口注销原因代码（公安部）
issuing_authority 签发机关 s100
valid_from 有效期限起始日期 d
valid_to 有效期限截止日期 d
moved_from 迁出地 s200 address
moved_to 迁入地 s200 address
moved_on 迁移日期 d
move_reason 迁移原因 c2 | 户口迁移原因代码（公安部）
certificate_no 证明编号 s40
certified_on 开具日期 d
document_type 证件种类 c2 | 出入境证件种类代码（国家移民管理局）
travel_document_no 出入境证件号码 s20
fingerprint 指纹特征数据 s4000
record_sealed_on 封存日期 d
uscc 统一社会信用代码 s18 #uscc
enterprise_name 企业名称 s200
org_name 单位名称 s200
legal_rep_name 法定代表人姓名 s50 name
registered_capital 注册资本 n
established_on 成立日期 d
domicile 住所 s200
business_scope 经营范围 s4000
enterprise_type 企业类型 c4 | 市场主体类型代码（国家市场监督管理总局）
registration_authority 登记机关 s100
registration_status 登记状态 c2 | 市场主体登记状态代码（1 存续、2 注销、3 吊销、4 迁出）
industry_code 行业代码 c5 | GB/T 4754-2017 国民经济行业分类
trade_name 字号名称 s200
operator_name 经营者姓名 s50 name
business_premises 经营场所 s200 address
employees 从业人数 i
change_item 变更事项 s100
before_change 变更前内容 s2000
after_change 变更后内容 s2000
changed_on 变更日期 d
cancelled_on 注销日期 d
shareholder_name 股东名称 s200 name
subscribed_capital 认缴出资额 n
contribution_form 出资方式 c2 | 出资方式代码（货币、实物、知识产权等）
contribution_date 出资日期 d
members 成员人数 i
report_year 年报年度 i
total_assets 资产总额 n
revenue 营业总收入 n
institution_name 机构名称 s200
licence_no 证照编号 s64
licence_name 证照名称 s100
licence_type 证照类型代码 c6 | 电子证照类型代码（江苏省电子证照目录）
holder_name 持证主体名称 s200
holder_code 持证主体代码 s18
issuer 发证机关 s100
issued_on 发证日期 d
valid_until 有效期至 d
licence_status 证照状态 c1 | 证照状态代码（1 有效、2 注销、3 吊销、4 过期）
permit_no 许可证编号 s50
permit_scope 许可范围 s2000
business_form 主体业态 s100
project_name 项目名称 s200
builder 建设单位 s200
construction_scale 建设规模 s500
contract_price 合同价格 n
permit_decision_no 行政许可决定文书号 s100
permit_title 行政许可名称 s200
counterpart_name 行政相对人名称 s200
permit_authority 许可机关 s100
decided_on 决定日期 d
penalty_decision_no 行政处罚决定书文号 s100
violation_type 违法行为类型 s200
penalty_content 处罚内容 s2000
fine_amount 罚没款金额 n
penalty_authority 处罚机关 s100
debtor_name 被执行人名称 s200 name
document_no 证件号码 s18 id_card
court 执行法院 s100
case_no 案号 s50
performance 履行情况 s500
listed_reason 列入理由 s500
listed_on 列入日期 d
removed_on 移出日期 d
credit_rating 信用评价等级 c2 | 公共信用综合评价等级代码（A、B、C、D）
rated_on 评价日期 d
record_type 信息类别 c2 | 公共信用信息类别代码（江苏省公共信用信息目录）
record_content 信息内容 s2000
repaired_on 修复日期 d
commitment 承诺内容 s2000
committed_on 承诺日期 d
ss_card_no 社会保障卡号 s20
insurance_type 险种类型 c3 | 险种类型代码（110 职工养老、170 居民养老、210 失业、310 职工医保等）
insured_status 参保状态 c1 | 参保状态代码（1 参保缴费、2 暂停缴费、3 终止参保）
insured_on 参保日期 d
contribution_base 社保缴费基数 n
contribution_month 缴费年月 s6
personal_contribution 个人缴费金额 n
employer_contribution 单位缴费金额 n
benefit_type 待遇类型 c3 | 社会保险待遇类型代码（人力资源社会保障部）
monthly_benefit 月待遇金额 n
paid_month 发放年月 s6
accident_on 事故发生日期 d
determination 认定结论 c1 | 工伤认定结论代码（1 认定工伤、2 视同工伤、3 不予认定）
card_issued_on 发卡日期 d
card_status 卡状态 c1 | 社会保障卡状态代码（1 正常、2 挂失、3 注销）
bank_name 开户银行 s100
employed_on 就业日期 d
employment_type 就业类型 c2 | 就业类型代码（人力资源社会保障部）
unemployed_on 失业登记日期 d
certificate_serial 证书编号 s50
occupation 职业名称 s100
skill_level 技能等级 c1 | 职业技能等级代码（1 高级技师至 5 初级工）
case_id 案件编号 s50
facts 违法事实 s2000
outcome 处理结果 s1000
unpaid_wages 拖欠工资金额 n
post 招聘岗位 s100
vacancies 招聘人数 i
husband_name 男方姓名 s50 name
husband_id_card 男方公民身份号码 s18 id_card #id
wife_name 女方姓名 s50 name
wife_id_card 女方公民身份号码 s18 id_card #id
registration_type 登记类别 c1 | 婚姻登记类别代码（1 结婚、2 离婚、3 补领）
marriage_cert_no 结婚证字号 s30
head_name 户主姓名 s50 name
head_id_card 户主公民身份号码 s18 id_card #id
covered_persons 保障人数 i
monthly_allowance 月保障金额 n
assistance_from 保障起始日期 d
assistance_type 救助类别 c2 | 社会救助类别代码（01 城市低保、02 农村低保、03 特困供养、04 临时救助）
support_mode 供养方式 c1 | 特困人员供养方式代码（1 集中供养、2 分散供养）
assistance_amount 救助金额 n
assisted_on 救助日期 d
society_name 社会组织名称 s200
society_type 社会组织类型 c1 | 社会组织类型代码（1 社会团体、2 民办非企业单位、3 基金会）
supervising_unit 业务主管单位 s100
beds 床位数 i
cremated_on 火化日期 d
funeral_home 殡仪馆名称 s100
subsidy_type 补贴类型 c2 | 补贴项目代码（财政惠民惠农补贴项目目录）
subsidy_amount 补贴金额 n
paid_on 发放日期 d
disability_cert_no 残疾人证号 s20
disability_grade 残疾等级 c2 | GB/T 26341-2010 残疾人残疾分类和分级
place_name 标准地名 s100
place_type 地名类别 c4 | GB/T 18521-2001 地名分类与类别代码编制规则
longitude 经度 n
latitude 纬度 n
child_name 儿童姓名 s50 name
adopter_name 收养人姓名 s50 name
adoptee_name 被收养人姓名 s50 name
property_unit_no 不动产单元号 s28
property_cert_no 不动产权证书号 s50
right_holder 权利人 s200 name
right_holder_id 权利人证件号码 s18 id_card
location 坐落 s200 address
floor_area 建筑面积 n
planned_use 规划用途 c4 | GB/T 21010-2017 土地利用现状分类
right_type 权利类型 c2 | 不动产权利类型代码（自然资源部）
registered_at 登记时间 t
parcel_no 图斑编号 s30
land_class 地类编码 c4 | GB/T 21010-2017 土地利用现状分类
parcel_area 图斑面积 n
locality 坐落单位名称 s100
planning_zone 规划分区 c2 | 国土空间规划分区代码（自然资源部）
land_use 用地性质 c4 | 国土空间调查、规划、用途管制用地用海分类
area 面积 n
approval_no 批复文号 s100
sheet_no 图幅号 s20
scale 比例尺 c2 | 基本比例尺代码（GB/T 13989-2012）
captured_at 采集时间 t
address_code 地址编码 s30
standard_address 标准地址 s200
land_user 用地单位 s200
site 用地位置 s200
site_area 用地面积 n
mine_name 矿区名称 s100
mineral 开采矿种 s50
mining_method 开采方式 c1 | 开采方式代码（1 露天、2 地下、3 露天/地下）
plot_no 地块编号 s30
sale_price 出让价款 n
signed_on 签订日期 d
mortgagee 抵押权人 s200
mortgagor 抵押人 s200 name
secured_amount 被担保主债权数额 n
survey_grade 测绘资质等级 c1 | 测绘资质等级代码（甲级、乙级）
birth_cert_no 出生医学证明编号 s10
newborn_name 新生儿姓名 s50 name
born_at 出生时间 t
birth_place 出生地点 s200 address
mother_name 母亲姓名 s50 name
mother_id_card 母亲公民身份号码 s18 id_card #id
father_name 父亲姓名 s50 name
father_id_card 父亲公民身份号码 s18 id_card #id
facility_name 医疗机构名称 s200
practice_licence_no 执业许可证登记号 s30
facility_grade 医疗机构级别 c2 | 医疗机构级别代码（三级甲等至一级）
clinical_subjects 诊疗科目 s1000
practice_cert_no 执业证书编码 s30
practice_category 执业类别 c2 | 医师执业类别代码（临床、中医、口腔、公共卫生）
practice_scope 执业范围 s200
practice_site 执业地点 s200
vaccine 疫苗名称 s100
vaccinated_on 接种日期 d
vaccination_site 接种单位 s200
dose_no 接种剂次 i
filed_on 建档日期 d
filing_facility 建档机构 s200
cause_of_death 根本死亡原因 c6 | ICD-10 疾病分类与代码
diagnosis 诊断名称 s200
diagnosed_on 诊断日期 d
treatment_record 诊疗记录 s4000
follow_up_on 随访日期 d
student_no 学籍号 s19
school_name 学校名称 s100
grade 年级 c2 | 年级代码（教育部学籍管理）
enrolled_on 入学日期 d
enrolment_status 学籍状态 c2 | 学籍状态代码（01 在读、02 休学、03 转出、04 毕业）
guardian_name 监护人姓名 s50 name
guardian_phone 监护人联系电话 s20 mobile
school_id 学校标识码 s10
school_type 办学类型 c3 | 办学类型代码（教育部）
teacher_cert_no 教师资格证书号码 s17
subject 任教学科 s50
qualification_type 资格种类 c2 | 教师资格种类代码（幼儿园、小学、初级中学、高级中学等）
aid_project 资助项目 c2 | 学生资助项目代码（国家助学金、免学费、生活补助等）
aid_amount 资助金额 n
applied_school 报名学校 s100
exam_no 准考证号 s20
total_score 总分 n
taxpayer_id 纳税人识别号 s20 #uscc
taxpayer_name 纳税人名称 s200
rating_year 评价年度 i
tax_credit_level 纳税信用级别 c1 | 纳税信用级别代码（A、B、M、C、D）
reg_type 登记注册类型 c3 | 登记注册类型代码（国家税务总局）
tax_office 主管税务机关 s100
tax_kind 税种 c5 | 税种代码（国家税务总局）
arrears 欠税余额 n
case_nature 案件性质 s100
period 所属期 s6
invoice_amount 开票金额 n
tax_amount 税额 n
income 收入额 n
tax_payable 应纳税额 n
qualification_cert_no 资质证书编号 s50
qualification 资质类别及等级 s200
contract_no 合同编号 s50
house_location 房屋坐落 s200 address
deal_price 成交金额 n
buyer_name 买方姓名 s50 name
buyer_id_card 买方公民身份号码 s18 id_card #id
household_size 家庭人数 i
housing_support 保障方式 c1 | 住房保障方式代码（1 实物配租、2 租赁补贴）
presale_no 预售许可证号 s50
presale_area 预售面积 n
job_type 工种 s50
entered_on 进场日期 d
inspection_result 监督结论 s500
project_code 项目代码 s24
total_investment 总投资 n
approved_on 批复日期 d
progress 形象进度 s500
completed_investment 完成投资 n
price_item 监测品种 s100
price 价格 n
monitored_on 监测日期 d
monitor_point 监测点 s100
indicator 指标名称 s100
indicator_value 指标值 n
stat_period 统计期 s6
unit 计量单位 s20
procurement_no 采购项目编号 s50
purchaser 采购单位 s200
budget 预算金额 n
supplier 中标供应商 s200
award_amount 中标金额 n
budget_subject 预算科目 c7 | 政府收支分类科目（财政部）
payer_name 缴款人名称 s200 name
payment_no 缴款书编号 s30
amount 金额 n
asset_name 资产名称 s200
asset_class 资产分类 c8 | GB/T 14885-2022 固定资产等资产基础分类与代码
book_value 账面价值 n
business_name 业户名称 s200
transport_cert_no 道路运输证号 s20
plate_no 号牌号码 s10
plate_type 号牌种类 c2 | GA 24.7 机动车号牌种类代码
vehicle_type 车辆类型 c3 | GA 24.4 机动车车辆类型代码
vin 车辆识别代号 s17
owner_name 所有人 s200 name
owner_id_no 所有人证件号码 s18 id_card
brand 车辆品牌 s50
first_registered_on 初次登记日期 d
licence_class 准驾车型 c3 | 准驾车型代码（公安部交通管理局）
points 累计记分 i
licence_state 驾驶证状态 c1 | 驾驶证状态代码（公安部交通管理局）
violation_time 违法时间 t
violation_place 违法地点 s200
violation_code 违法行为代码 c5 | GA/T 16.x 道路交通违法行为代码
penalty_points 记分 i
qualification_no 从业资格证号 s30
qualification_class 从业资格类别 c2 | 道路运输从业资格类别代码（交通运输部）
line_name 线路名称 s50
stop_name 站点名称 s100
first_bus 首班时间 s5
last_bus 末班时间 s5
reported_at 定位时间 t
speed 速度 n
bus_no 车辆自编号 s20
overload_rate 超限率 n
contractor_code 承包方编码 s18
plot_code 地块编码 s19
contract_area 承包面积 n
contractor_rep 承包方代表姓名 s50 name
farm_type 家庭农场类型 c2 | 家庭农场类型代码（种植、养殖、种养结合等）
quarantine_no 检疫证明编号 s20
animal_type 动物种类 s50
quantity 数量 i
origin 启运地点 s200
destination 到达地点 s200
product_name 产品名称 s100
sampled_on 抽检日期 d
test_result 检验结论 c1 | 检验结论代码（1 合格、2 不合格）
failed_items 不合格项目 s500
station 监测站点 s100
monitored_at 监测时间 t
pm25 PM2.5浓度 n
pm10 PM10浓度 n
aqi 空气质量指数 i
outlet 排放口编号 s20
pollutant 污染物名称 s50
concentration 排放浓度 n
eia_approval_no 环评批复文号 s100
section 断面名称 s100
water_class 水质类别 c1 | GB 3838-2002 地表水环境质量标准 水质类别
complaint_no 投诉编号 s30
complainant 投诉人姓名 s50 name
complaint_content 投诉内容 s2000
respondent_name 被投诉人名称 s200
handling_status 办理状态 c1 | 办理状态代码（1 受理、2 办理中、3 办结）
hazard_source 危险源名称 s200
hazard_level 危险源级别 c1 | 重大危险源级别代码（一级至四级）
accident_type 事故类型 c2 | GB 6441-1986 企业职工伤亡事故分类
deaths 死亡人数 i
direct_loss 直接经济损失 n
occurred_at 发生时间 t
team_name 队伍名称 s200
team_size 队员人数 i
disaster_type 灾害种类 c6 | GB/T 28921-2012 自然灾害分类与代码
affected_population 受灾人口 i
shelter_name 避难场所名称 s200
capacity 容纳人数 i
lawyer_licence_no 律师执业证号 s17
law_firm 律师事务所名称 s200
practice_class 律师执业类别 c1 | 律师执业类别代码（1 专职、2 兼职、3 公职、4 公司）
correction_type 矫正类别 c1 | 社区矫正类别代码（1 管制、2 缓刑、3 假释、4 暂予监外执行）
correction_term 矫正期限 s50
correction_from 矫正起始日期 d
legal_aid_no 法律援助案件编号 s30
case_type 案件类型 c2 | 案件类型代码
mediation_result 调解结果 c1 | 调解结果代码（1 调解成功、2 调解不成功）
notary_office 公证机构名称 s200
notary_name 公证员姓名 s50 name
notarial_matter 公证事项 s200
notarial_cert_no 公证书编号 s50
review_case_no 复议案号 s50
respondent 被申请人 s200
review_decision 复议决定 c1 | 行政复议决定类型代码（维持、撤销、变更、确认违法等）
designated_code 定点医药机构编码 s20
settlement_no 结算单号 s30
total_cost 医疗费用总额 n
fund_paid 统筹基金支付金额 n
disease 病种名称 s100
approved_from 待遇享受开始日期 d
water_permit_no 取水许可证编号 s30
intake_volume 年取水量 n
water_source 水源类型 c1 | 水源类型代码（1 地表水、2 地下水）
water_level 水位 n
flow 流量 n
river_name 河湖名称 s100
river_chief 河湖长姓名 s50 name
sand_area 采砂区域 s200
sand_volume 控制开采量 n
filing_no 备案登记表编号 s30
trace_code 追溯码 s32
batch_no 批次号 s30
foreign_investor 外国投资者名称 s200
investor_country 投资者国别 c3 | GB/T 2659-2000 世界各国和地区名称代码
scenic_name 景区名称 s200
scenic_level 景区等级 c1 | A级旅游景区等级代码（1A至5A）
agency_licence_no 旅行社业务经营许可证编号 s30
guide_cert_no 导游证号 s20
guide_level 导游等级 c1 | 导游等级代码（初级、中级、高级、特级）
venue_name 场所名称 s200
venue_type 场所类型 c2 | 场所类型代码
hotel_star 星级 c1 | 旅游饭店星级代码（一星至五星）
enlisted_on 入伍日期 d
discharged_on 退役日期 d
discharge_type 退役类别 c2 | 退役类别代码（退役军人事务部）
placement 安置方式 c2 | 安置方式代码（退役军人事务部）
entitled_type 优抚对象类别 c2 | 优抚对象类别代码（退役军人事务部）
memorial_name 纪念设施名称 s200
protection_level 保护级别 c1 | 烈士纪念设施保护级别代码（国家级、省级、市级、县级）
event_type 事件类型 c4 | GB/T 30428 数字化城市管理事件分类代码
dig_location 挖掘位置 s200
works_period 施工期限 s100
component_code 部件编码 s20
component_type 部件类型 c4 | GB/T 30428 数字化城市管理部件分类代码
work_no 办件编号 s40
item_name 事项名称 s200
applicant 申请人名称 s200 name
applicant_id 申请人证件号码 s18 id_card
accepted_on 受理日期 d
concluded_on 办结日期 d
conclusion 办结结果 c1 | 办结结果代码（1 准予、2 不予、3 撤回）
ticket_no 工单编号 s30
called_at 来电时间 t
request_type 诉求类型 c3 | 12345热线诉求分类代码
request_content 诉求内容 s2000
handler 承办单位 s200
rating 评价等级 c1 | 政务服务好差评等级代码（1 非常满意至 5 非常不满意）
rated_at 评价时间 t
item_code 事项编码 s40
item_type 事项类型 c2 | 政务服务事项类型代码（行政许可、行政给付、行政确认等）
legal_basis 设定依据 s2000
legal_limit 法定办结时限 i
promised_limit 承诺办结时限 i
remark 备注 s500
"""


@dataclass(frozen=True)
class Spec:
    """One demo resource in shorthand (expanded by ``build_entry``)."""

    dept: str  # provider's short name
    name: str
    kind: str  # "B:<base kind>", "T:<theme>" or "D"
    share: str  # U / C / N
    open: str  # O / R / X
    items: str  # item codes, space-separated
    summary: str
    cycle: str = "d"
    fmt: str = "db"
    modes: str = ""  # default: U → query + batch, C → query + verify, N → none
    tags: str = ""  # search tags besides the base database or theme, space-separated
    conditions: str = ""  # the share conditions of a conditional entry (else a default)
    open_conditions: str = ""  # the open conditions of an open-on-request entry


S = Spec
# fmt: off
SPECS: list[Spec] = [
    # 人口 (公安局) --------------------------------------------------------------------
    S("公安局", "人口基础信息", "B:population", "U", "X",
      "name id_card gender ethnicity birth_date household_address division_code",
      "人口基础库的核心信息，以公民身份号码为唯一标识，是各部门关联人口数据的基准",
      modes="qvb"),
    S("公安局", "居民户籍信息", "B:population", "U", "X",
      "name id_card gender household_no relation_to_head household_address"
      " marital_status education_level",
      "本市户籍人口的户籍登记信息（户号、与户主关系等），人口基础库组成部分", modes="qvb"),
    S("公安局", "流动人口居住登记信息", "B:population", "U", "X",
      "name id_card gender residence_address phone residence_permit_no registered_on",
      "来宿流动人口的居住登记和居住证办理信息，人口基础库组成部分"),
    S("公安局", "居民身份证签发信息", "B:population", "U", "X",
      "name id_card issuing_authority valid_from valid_to",
      "居民身份证的签发机关和有效期限，供身份核验使用", modes="qv"),
    S("公安局", "人口出生登记信息", "B:population", "U", "X",
      "name id_card gender birth_date birthplace household_address registered_on",
      "新生儿出生户口登记信息，人口基础库组成部分", modes="qbf"),
    S("公安局", "人口死亡注销信息", "B:population", "U", "X",
      "name id_card died_on cancel_reason registered_on",
      "死亡人员户口注销信息，用于待遇停发、户籍核查等", modes="qbf"),
    # 法人 (市场监管局) ----------------------------------------------------------------
    S("市场监管局", "企业登记基本信息", "B:legal_entity", "U", "O",
      "uscc enterprise_name enterprise_type legal_rep_name registered_capital established_on"
      " domicile business_scope registration_authority registration_status industry_code",
      "本市各类企业的设立登记基本信息，法人基础库的核心信息", modes="qvbf"),
    S("市场监管局", "个体工商户登记信息", "B:legal_entity", "U", "R",
      "uscc trade_name operator_name business_premises business_scope established_on"
      " registration_status",
      "个体工商户登记信息，法人基础库组成部分"),
    S("市场监管局", "农民专业合作社登记信息", "B:legal_entity", "U", "O",
      "uscc enterprise_name legal_rep_name members established_on domicile registration_status",
      "农民专业合作社设立登记信息，法人基础库组成部分"),
    S("市场监管局", "企业变更登记信息", "B:legal_entity", "U", "O",
      "uscc enterprise_name change_item before_change after_change changed_on",
      "企业名称、住所、法定代表人、注册资本等事项的变更登记记录", modes="qbf"),
    S("市场监管局", "企业注销登记信息", "B:legal_entity", "U", "O",
      "uscc enterprise_name cancelled_on cancel_reason",
      "企业注销登记记录，含简易注销", modes="qbf"),
    S("市场监管局", "企业股东及出资信息", "B:legal_entity", "U", "O",
      "uscc enterprise_name shareholder_name subscribed_capital contribution_form"
      " contribution_date",
      "企业股东（发起人）及认缴出资信息"),
    # 自然资源和空间地理 (自然资源和规划局) ---------------------------------------------
    S("自然资源和规划局", "不动产登记信息", "B:geo", "U", "X",
      "property_unit_no property_cert_no right_holder right_holder_id location floor_area"
      " planned_use right_type registered_at",
      "不动产首次、转移、变更登记信息，以不动产单元号为唯一标识", modes="qv"),
    S("自然资源和规划局", "土地利用现状信息", "B:geo", "U", "O",
      "parcel_no land_class parcel_area locality division_code",
      "年度国土变更调查形成的土地利用现状图斑信息", cycle="y", fmt="xls", modes="b"),
    S("自然资源和规划局", "国土空间规划信息", "B:geo", "U", "O",
      "planning_zone land_use area approval_no division_code",
      "市县国土空间总体规划和详细规划的分区、用地信息", cycle="i", modes="qb"),
    S("自然资源和规划局", "基础地理信息（1:2000地形图）", "B:geo", "U", "R",
      "sheet_no scale captured_at division_code",
      "城区1:2000数字线划图和正射影像成果目录", cycle="y", fmt="img", modes="bl",
      open_conditions="按《测绘成果管理条例》提供，使用单位须履行保密管理责任"),
    S("自然资源和规划局", "地名地址信息", "B:geo", "U", "O",
      "address_code standard_address longitude latitude division_code",
      "标准地名地址及其空间坐标，支撑各部门地址标准化和空间定位", cycle="w", modes="qb"),
    # 电子证照 (行政审批局) ------------------------------------------------------------
    S("行政审批局", "电子证照目录信息", "B:licence", "U", "X",
      "licence_no licence_name licence_type holder_name holder_code issuer issued_on"
      " valid_until licence_status",
      "本市签发的各类电子证照的目录信息，电子证照库的索引", modes="qvl", fmt="api"),
    S("行政审批局", "营业执照电子证照", "B:licence", "U", "R",
      "licence_no uscc enterprise_name legal_rep_name registered_capital established_on"
      " domicile issuer issued_on",
      "市场主体营业执照的电子证照，可在办事中免交纸质材料", fmt="doc", modes="ql"),
    S("行政审批局", "食品经营许可证电子证照", "B:licence", "U", "O",
      "licence_no uscc enterprise_name legal_rep_name business_premises business_form"
      " issuer issued_on valid_until",
      "食品经营许可证电子证照", fmt="doc", modes="ql"),
    S("行政审批局", "建设工程施工许可证电子证照", "B:licence", "U", "O",
      "licence_no project_name builder uscc construction_scale contract_price issuer issued_on",
      "建筑工程施工许可证电子证照", fmt="doc", modes="ql"),
    S("行政审批局", "建设工程规划许可证电子证照", "B:licence", "U", "O",
      "licence_no project_name builder uscc construction_scale issuer issued_on",
      "建设工程规划许可证电子证照", fmt="doc", modes="ql"),
    S("行政审批局", "药品经营许可证电子证照", "B:licence", "U", "O",
      "licence_no uscc enterprise_name legal_rep_name business_premises permit_scope"
      " issuer issued_on valid_until",
      "药品零售企业经营许可证电子证照", fmt="doc", modes="ql"),
    S("行政审批局", "出生医学证明电子证照", "B:licence", "U", "X",
      "licence_no newborn_name gender born_at mother_name mother_id_card issuer issued_on",
      "出生医学证明的电子证照，用于户口登记、入学等免交纸质材料", fmt="doc", modes="vl"),
    # 社会信用 (信用办) ----------------------------------------------------------------
    S("信用办", "法人公共信用综合评价信息", "B:credit", "U", "O",
      "uscc enterprise_name credit_rating rated_on",
      "市场主体公共信用综合评价结果", cycle="m", modes="qb"),
    S("信用办", "行政许可信息（双公示）", "B:credit", "U", "O",
      "permit_decision_no permit_title counterpart_name uscc legal_rep_name permit_authority"
      " decided_on valid_until",
      "各部门作出的行政许可决定，按“双公示”要求归集", modes="qbf"),
    S("信用办", "行政处罚信息（双公示）", "B:credit", "U", "O",
      "penalty_decision_no counterpart_name uscc violation_type penalty_content fine_amount"
      " penalty_authority decided_on",
      "各部门作出的行政处罚决定，按“双公示”要求归集", modes="qbf"),
    S("信用办", "失信被执行人信息", "B:credit", "U", "R",
      "debtor_name document_no court case_no performance listed_on",
      "法院公布的失信被执行人名单，用于联合惩戒"),
    S("信用办", "守信激励对象名单", "B:credit", "U", "O",
      "uscc enterprise_name listed_reason listed_on", "守信联合激励对象名单（红名单）"),
    S("信用办", "信用修复信息", "B:credit", "U", "R",
      "uscc enterprise_name record_type repaired_on", "市场主体完成信用修复的记录"),
    S("信用办", "自然人公共信用信息", "B:credit", "U", "X",
      "name id_card record_type record_content decided_on",
      "自然人的公共信用信息，用于信用核查", modes="qv"),
    # 数据局 ----------------------------------------------------------------------------
    S("数据局", "政务服务事项目录", "T:政务服务", "U", "O",
      "item_code item_name item_type legal_basis legal_limit promised_limit",
      "全市政务服务事项的实施清单", cycle="m", modes="qb"),
    S("数据局", "政务服务事项办件信息", "T:政务服务", "C", "X",
      "work_no item_name applicant applicant_id accepted_on concluded_on conclusion",
      "政务服务一体化平台的受理和办结记录", cycle="rt", modes="qbf"),
    S("数据局", "12345政务服务便民热线工单信息", "T:城市管理", "C", "X",
      "ticket_no called_at request_type request_content handler handling_status phone",
      "12345热线受理的群众诉求工单及办理情况", cycle="rt", modes="qf"),
    S("数据局", "政务服务好差评信息", "T:政务服务", "U", "O",
      "work_no item_name handler rating rated_at", "政务服务“好差评”评价结果", modes="qb"),
    S("数据局", "政务信息化项目清单", "D", "U", "R",
      "project_code project_name builder total_investment progress",
      "全市政务信息化项目的建设清单和进度", cycle="q", fmt="xls", modes="b"),
    # 公安局 ----------------------------------------------------------------------------
    S("公安局", "机动车登记信息", "D", "C", "X",
      "plate_no plate_type vin vehicle_type owner_name owner_id_no brand first_registered_on",
      "本市登记机动车的号牌、车辆识别代号和所有人信息"),
    S("公安局", "机动车驾驶人信息", "D", "C", "X",
      "name id_card licence_class points licence_state valid_until",
      "机动车驾驶证的准驾车型、记分和状态信息"),
    S("公安局", "道路交通违法信息", "D", "C", "X",
      "plate_no plate_type violation_time violation_place violation_code fine_amount"
      " penalty_points",
      "交通技术监控和现场执法查处的道路交通违法记录", cycle="rt", modes="qf"),
    S("公安局", "出入境证件签发信息", "D", "C", "X",
      "name id_card document_type travel_document_no issued_on valid_until",
      "普通护照和往来港澳台通行证的签发信息"),
    S("公安局", "户籍迁移信息", "D", "C", "X",
      "name id_card moved_from moved_to moved_on move_reason",
      "户口迁入、迁出登记信息", modes="qf"),
    S("公安局", "无犯罪记录证明开具信息", "D", "C", "X",
      "name id_card certificate_no certified_on issuing_authority",
      "派出所开具无犯罪记录证明的记录，供办事核验", modes="v"),
    S("公安局", "保安服务公司许可信息", "D", "U", "O",
      "uscc enterprise_name legal_rep_name permit_no issued_on", "保安服务公司设立许可信息"),
    S("公安局", "旅馆业特种行业许可信息", "D", "U", "O",
      "uscc enterprise_name legal_rep_name business_premises permit_no issued_on",
      "旅馆业特种行业许可证核发信息"),
    S("公安局", "居民身份证指纹信息", "D", "N", "X",
      "id_card fingerprint registered_on", "居民身份证办理时采集的指纹特征信息"),
    S("公安局", "未成年人犯罪记录信息", "D", "N", "X",
      "name id_card case_no record_sealed_on", "依法封存的未成年人犯罪记录"),
    # 市场监管局 ------------------------------------------------------------------------
    S("市场监管局", "食品生产许可信息", "T:市场监管", "U", "O",
      "permit_no uscc enterprise_name legal_rep_name business_premises permit_scope"
      " issued_on valid_until",
      "食品生产许可证核发、变更和注销信息"),
    S("市场监管局", "特种设备使用登记信息", "T:安全生产", "U", "R",
      "certificate_no org_name uscc location registered_on remark",
      "锅炉、电梯、起重机械等特种设备使用登记信息"),
    S("市场监管局", "产品质量监督抽查信息", "T:市场监管", "U", "O",
      "product_name enterprise_name uscc sampled_on test_result failed_items",
      "产品质量市级监督抽查结果", cycle="q"),
    S("市场监管局", "经营异常名录信息", "T:市场监管", "U", "O",
      "uscc enterprise_name listed_reason listed_on removed_on", "列入、移出经营异常名录的记录"),
    S("市场监管局", "严重违法失信企业名单", "T:信用体系", "U", "O",
      "uscc enterprise_name legal_rep_name listed_reason listed_on",
      "列入严重违法失信名单的企业"),
    S("市场监管局", "计量器具强制检定信息", "D", "U", "R",
      "certificate_no org_name uscc product_name test_result valid_until",
      "强制检定计量器具的检定结果"),
    S("市场监管局", "消费投诉举报信息", "T:市场监管", "C", "X",
      "complaint_no complainant phone respondent_name complaint_content handling_status",
      "12315平台受理的消费投诉举报", cycle="rt", modes="qf",
      conditions="仅向负有相关监管职责的部门提供，投诉人信息脱敏后提供"),
    S("市场监管局", "药品零售企业监督检查信息", "T:市场监管", "U", "O",
      "uscc enterprise_name inspection_result decided_on", "药品零售企业日常监督检查结果"),
    S("市场监管局", "食品安全监督抽检信息", "T:市场监管", "U", "O",
      "product_name enterprise_name uscc batch_no sampled_on test_result failed_items",
      "食品安全监督抽检结果", cycle="w"),
    S("市场监管局", "企业年度报告公示信息", "B:legal_entity", "U", "R",
      "uscc enterprise_name report_year employees total_assets revenue",
      "企业年度报告中公示的从业人数、资产和收入信息", cycle="y", modes="qb"),
    S("市场监管局", "知识产权质押登记信息", "D", "U", "O",
      "uscc enterprise_name certificate_no secured_amount registered_on",
      "专利权、商标专用权质押登记信息"),
    # 人社局 ----------------------------------------------------------------------------
    S("人社局", "社会保险参保信息", "T:社会保障", "C", "X",
      "name id_card ss_card_no insurance_type insured_status insured_on contribution_base"
      " org_name uscc",
      "职工和城乡居民的社会保险（社保）参保登记信息", modes="qvb", tags="社保"),
    S("人社局", "社会保险缴费信息", "T:社会保障", "C", "X",
      "name id_card insurance_type contribution_month contribution_base"
      " personal_contribution employer_contribution",
      "社会保险（社保）按月缴费明细", cycle="m", modes="qvb", tags="社保"),
    S("人社局", "养老保险待遇领取信息", "T:社会保障", "C", "X",
      "name id_card benefit_type monthly_benefit paid_month",
      "企业职工和城乡居民养老保险待遇发放信息", cycle="m", tags="社保"),
    S("人社局", "失业保险金领取信息", "T:社会保障", "C", "X",
      "name id_card unemployed_on monthly_benefit paid_month",
      "失业保险金申领和发放信息", cycle="m", tags="社保"),
    S("人社局", "工伤认定信息", "T:社会保障", "C", "X",
      "name id_card org_name uscc accident_on determination decided_on",
      "工伤认定申请和认定结论", cycle="i", tags="社保"),
    S("人社局", "社会保障卡持卡人信息", "T:社会保障", "C", "X",
      "name id_card ss_card_no card_issued_on card_status bank_name",
      "社会保障卡发卡和状态信息，支撑“一卡通”应用", modes="qv", tags="社保"),
    S("人社局", "就业登记信息", "D", "C", "X",
      "name id_card org_name uscc employed_on employment_type", "劳动者就业登记信息"),
    S("人社局", "失业登记信息", "D", "C", "X",
      "name id_card unemployed_on residence_address", "城镇失业人员失业登记信息"),
    S("人社局", "职业技能等级证书信息", "D", "C", "R",
      "name id_card certificate_serial occupation skill_level issued_on",
      "职业技能等级认定证书核发信息", modes="qv"),
    S("人社局", "人力资源服务许可信息", "D", "U", "O",
      "uscc institution_name legal_rep_name permit_no issued_on", "经营性人力资源服务机构许可信息"),
    S("人社局", "劳动保障监察案件信息", "D", "U", "R",
      "case_id enterprise_name uscc facts outcome decided_on",
      "劳动保障监察立案查处信息", cycle="i"),
    S("人社局", "拖欠农民工工资失信联合惩戒对象名单", "T:信用体系", "U", "O",
      "uscc enterprise_name legal_rep_name unpaid_wages listed_on", "拖欠农民工工资“黑名单”"),
    S("人社局", "事业单位公开招聘信息", "D", "U", "O",
      "org_name post vacancies decided_on", "事业单位公开招聘岗位信息", cycle="i", fmt="xls"),
    S("人社局", "劳动人事争议仲裁案件信息", "D", "C", "X",
      "case_no applicant respondent case_type outcome concluded_on", "劳动人事争议仲裁案件办理信息",
      cycle="i"),
    # 民政局 ----------------------------------------------------------------------------
    S("民政局", "婚姻登记信息", "D", "C", "X",
      "husband_name husband_id_card wife_name wife_id_card registered_on registration_type"
      " marriage_cert_no issuing_authority",
      "结婚、离婚和补领婚姻登记证的登记信息", modes="qv"),
    S("民政局", "低保对象信息", "T:社会救助", "C", "X",
      "head_name head_id_card covered_persons monthly_allowance assistance_from"
      " assistance_type division_code",
      "城乡最低生活保障对象及保障金额", cycle="m", tags="低保 社会救助"),
    S("民政局", "特困人员供养信息", "T:社会救助", "C", "X",
      "name id_card support_mode monthly_allowance assistance_from division_code",
      "特困人员认定和供养信息", cycle="m", tags="社会救助"),
    S("民政局", "临时救助信息", "T:社会救助", "C", "X",
      "name id_card assistance_amount assisted_on listed_reason", "临时救助对象和救助金额",
      cycle="m", tags="社会救助"),
    S("民政局", "社会组织登记信息", "D", "U", "O",
      "uscc society_name society_type legal_rep_name established_on domicile"
      " supervising_unit registration_status",
      "社会团体、民办非企业单位和基金会登记信息"),
    S("民政局", "养老机构备案信息", "D", "U", "O",
      "uscc institution_name legal_rep_name beds address phone", "养老机构备案和床位信息"),
    S("民政局", "殡葬火化信息", "D", "C", "X",
      "name id_card died_on cremated_on funeral_home", "遗体火化信息，用于待遇停发和户籍注销",
      modes="qf"),
    S("民政局", "残疾人两项补贴发放信息", "T:社会救助", "C", "X",
      "name id_card disability_cert_no disability_grade subsidy_amount paid_on",
      "困难残疾人生活补贴和重度残疾人护理补贴发放信息", cycle="m"),
    S("民政局", "标准地名信息", "D", "U", "O",
      "place_name place_type division_code longitude latitude", "经批准命名、更名的标准地名",
      cycle="i"),
    S("民政局", "困境儿童保障信息", "T:社会救助", "C", "X",
      "child_name id_card guardian_name guardian_phone assistance_type monthly_allowance",
      "困境儿童分类保障信息", cycle="m"),
    S("民政局", "收养登记信息", "D", "N", "X",
      "adopter_name id_card adoptee_name registered_on", "收养登记和解除收养登记信息"),
    # 自然资源和规划局 ------------------------------------------------------------------
    S("自然资源和规划局", "建设用地规划许可信息", "D", "U", "O",
      "permit_no land_user uscc site site_area land_use issued_on", "建设用地规划许可证核发信息"),
    S("自然资源和规划局", "采矿许可信息", "D", "U", "O",
      "permit_no mine_name uscc mineral mining_method area valid_until", "采矿许可证核发信息"),
    S("自然资源和规划局", "国有建设用地使用权出让信息", "T:公共资源交易", "U", "O",
      "plot_no location area land_use sale_price land_user uscc signed_on",
      "国有建设用地使用权招拍挂出让结果"),
    S("自然资源和规划局", "不动产抵押登记信息", "D", "C", "X",
      "property_unit_no mortgagee mortgagor secured_amount registered_at",
      "不动产抵押权设立、变更和注销登记信息", modes="qv"),
    S("自然资源和规划局", "测绘资质信息", "D", "U", "O",
      "uscc enterprise_name survey_grade certificate_no valid_until", "测绘资质证书信息"),
    S("自然资源和规划局", "违法用地查处信息", "D", "U", "R",
      "case_id counterpart_name location area outcome decided_on", "违法用地立案查处结果",
      cycle="m"),
    # 卫健委 ----------------------------------------------------------------------------
    S("卫健委", "出生医学证明信息", "T:医疗健康", "C", "X",
      "birth_cert_no newborn_name gender born_at birth_place mother_name mother_id_card"
      " father_name father_id_card issuing_authority",
      "出生医学证明签发信息，支撑“出生一件事”联办", modes="qvf"),
    S("卫健委", "医疗机构执业许可信息", "D", "U", "O",
      "facility_name uscc legal_rep_name practice_licence_no facility_grade"
      " clinical_subjects beds address valid_until",
      "医疗机构执业登记和校验信息"),
    S("卫健委", "医师执业注册信息", "D", "C", "R",
      "name id_card practice_cert_no practice_category practice_scope practice_site",
      "医师执业注册和变更信息", modes="qv",
      conditions="仅向医疗机构监管、医保结算等部门提供，用于执业资格核验"),
    S("卫健委", "护士执业注册信息", "D", "C", "R",
      "name id_card practice_cert_no practice_site valid_until", "护士执业注册信息", modes="qv"),
    S("卫健委", "预防接种信息", "T:医疗健康", "C", "X",
      "name id_card vaccine vaccinated_on vaccination_site dose_no",
      "儿童和成人预防接种记录，支撑入托入学查验", modes="qv"),
    S("卫健委", "居民电子健康档案信息", "T:医疗健康", "C", "X",
      "name id_card gender birth_date phone residence_address filed_on filing_facility",
      "基层医疗卫生机构建立的居民电子健康档案摘要"),
    S("卫健委", "死亡医学证明信息", "T:医疗健康", "C", "X",
      "name id_card died_on cause_of_death issuing_authority",
      "居民死亡医学证明（推断）书签发信息", modes="qf"),
    S("卫健委", "公共场所卫生许可信息", "D", "U", "O",
      "permit_no uscc enterprise_name business_premises permit_scope valid_until",
      "公共场所卫生许可证核发信息"),
    S("卫健委", "计划生育家庭特别扶助信息", "T:社会救助", "C", "X",
      "name id_card subsidy_type subsidy_amount paid_on", "计划生育特殊家庭扶助金发放信息",
      cycle="m"),
    S("卫健委", "传染病患者个人诊疗信息", "T:医疗健康", "N", "X",
      "name id_card diagnosis diagnosed_on treatment_record", "法定传染病病例的个人诊疗信息"),
    S("卫健委", "精神障碍患者诊疗信息", "T:医疗健康", "N", "X",
      "name id_card diagnosis diagnosed_on treatment_record", "严重精神障碍患者的诊疗和管理信息"),
    S("卫健委", "艾滋病病毒感染者随访管理信息", "T:医疗健康", "N", "X",
      "name id_card diagnosed_on follow_up_on treatment_record",
      "艾滋病病毒感染者和病人随访管理信息"),
    # 教育局 ----------------------------------------------------------------------------
    S("教育局", "学生学籍信息", "T:教育服务", "C", "X",
      "student_no name id_card gender birth_date school_name grade enrolled_on"
      " enrolment_status guardian_name guardian_phone",
      "全市中小学学生学籍信息", modes="qv"),
    S("教育局", "学校基本信息", "T:教育服务", "U", "O",
      "school_id school_name uscc school_type address phone",
      "全市各级各类学校基本信息", cycle="y"),
    S("教育局", "民办学校办学许可信息", "D", "U", "O",
      "permit_no school_name uscc legal_rep_name address valid_until", "民办学校办学许可证信息"),
    S("教育局", "教师资格证书信息", "D", "C", "R",
      "name id_card teacher_cert_no qualification_type subject issued_on",
      "教师资格认定和证书信息", modes="qv"),
    S("教育局", "学生资助信息", "T:社会救助", "C", "X",
      "student_no name id_card aid_project aid_amount paid_on", "学前至高中阶段学生资助发放信息",
      cycle="m"),
    S("教育局", "义务教育入学报名信息", "T:教育服务", "C", "X",
      "name id_card household_address residence_address applied_school guardian_phone",
      "小学和初中新生入学报名信息", cycle="i", modes="qv"),
    S("教育局", "中考成绩信息", "T:教育服务", "C", "X",
      "exam_no name id_card total_score", "初中学业水平考试成绩", cycle="y", modes="qv"),
    S("教育局", "校外培训机构信息", "D", "U", "O",
      "uscc institution_name legal_rep_name permit_no address", "经审批的校外培训机构名单"),
    # 税务局 ----------------------------------------------------------------------------
    S("税务局", "纳税信用等级信息", "T:信用体系", "U", "R",
      "taxpayer_id taxpayer_name rating_year tax_credit_level",
      "企业纳税信用评价结果（A级纳税人名单向社会公布）", cycle="y", modes="qb"),
    S("税务局", "税务登记信息", "D", "U", "R",
      "taxpayer_id taxpayer_name legal_rep_name reg_type tax_office registered_on",
      "纳税人税务登记（信息确认）信息"),
    S("税务局", "欠税公告信息", "D", "U", "O",
      "taxpayer_id taxpayer_name legal_rep_name tax_kind arrears", "欠缴税款的纳税人公告信息",
      cycle="q"),
    S("税务局", "重大税收违法失信主体信息", "T:信用体系", "U", "O",
      "taxpayer_id taxpayer_name legal_rep_name case_nature facts listed_on",
      "重大税收违法失信案件公布信息", cycle="m"),
    S("税务局", "增值税发票开具汇总信息", "D", "C", "X",
      "taxpayer_id taxpayer_name period invoice_amount tax_amount", "纳税人按月开具发票汇总信息",
      cycle="m", conditions="仅向承担经济运行监测、涉企资金监管职责的部门提供汇总数据"),
    S("税务局", "个人所得税纳税记录", "D", "C", "X",
      "name id_card period income tax_payable", "个人所得税纳税明细，用于人才认定、资格核验",
      cycle="m", modes="qv"),
    S("税务局", "企业所得税汇算清缴信息", "D", "C", "X",
      "taxpayer_id taxpayer_name rating_year revenue tax_payable", "企业所得税年度汇算清缴信息",
      cycle="y", conditions="仅向涉企政策兑现和经济运行分析的部门提供"),
    S("税务局", "纳税人涉税保密信息", "D", "N", "X",
      "taxpayer_id taxpayer_name period income tax_amount", "纳税人的经营、财产等涉税保密信息"),
    # 住建局 ----------------------------------------------------------------------------
    S("住建局", "建筑业企业资质信息", "D", "U", "O",
      "uscc enterprise_name legal_rep_name qualification_cert_no qualification issued_on"
      " valid_until",
      "建筑业企业资质证书信息"),
    S("住建局", "商品房网签备案信息", "T:住房保障", "C", "X",
      "contract_no house_location floor_area deal_price buyer_name buyer_id_card filed_on",
      "新建商品房和存量房买卖合同网签备案信息", modes="qv"),
    S("住建局", "公租房保障对象信息", "T:住房保障", "C", "X",
      "name id_card household_size housing_support assistance_from", "公共租赁住房保障家庭信息",
      cycle="m"),
    S("住建局", "商品房预售许可信息", "T:住房保障", "U", "O",
      "presale_no project_name enterprise_name uscc presale_area issued_on",
      "商品房预售许可证信息"),
    S("住建局", "建筑施工企业安全生产许可信息", "T:安全生产", "U", "O",
      "permit_no uscc enterprise_name legal_rep_name issued_on valid_until",
      "建筑施工企业安全生产许可证信息"),
    S("住建局", "房地产开发企业资质信息", "D", "U", "O",
      "uscc enterprise_name qualification_cert_no qualification valid_until",
      "房地产开发企业资质信息"),
    S("住建局", "物业服务企业信息", "D", "U", "O",
      "uscc enterprise_name legal_rep_name address phone",
      "在本市备案的物业服务企业信息", cycle="m"),
    S("住建局", "建设工程质量监督信息", "D", "U", "R",
      "project_name builder uscc inspection_result decided_on", "建设工程质量监督检查结论"),
    S("住建局", "建筑工人实名制信息", "D", "C", "X",
      "name id_card job_type project_name entered_on", "在建项目建筑工人实名制登记信息"),
    # 发改委 ----------------------------------------------------------------------------
    S("发改委", "政府投资项目审批信息", "T:公共资源交易", "U", "O",
      "project_code project_name builder uscc total_investment approval_no approved_on",
      "政府投资项目建议书、可行性研究报告和初步设计批复信息"),
    S("发改委", "企业投资项目备案信息", "D", "U", "O",
      "project_code project_name enterprise_name uscc total_investment approved_on",
      "企业投资项目备案信息"),
    S("发改委", "重点项目建设进度信息", "D", "U", "R",
      "project_code project_name progress completed_investment stat_period",
      "市级重点项目月度建设进度", cycle="m", fmt="xls", modes="b"),
    S("发改委", "重要商品价格监测信息", "T:市场监管", "U", "O",
      "price_item price unit monitored_on monitor_point", "粮油、肉禽蛋、蔬菜等重要商品价格监测",
      cycle="w", fmt="xls", modes="qb"),
    S("发改委", "宏观经济运行监测指标", "D", "U", "O",
      "indicator indicator_value unit stat_period", "地区生产总值、投资、消费等主要经济指标",
      cycle="m", fmt="xls", modes="qb"),
    # 财政局 ----------------------------------------------------------------------------
    S("财政局", "政府采购项目信息", "T:公共资源交易", "U", "O",
      "procurement_no project_name purchaser budget supplier uscc award_amount decided_on",
      "政府采购项目公告和中标（成交）结果"),
    S("财政局", "财政预决算公开信息", "D", "U", "O",
      "org_name budget_subject amount stat_period", "部门预算和决算公开数据", cycle="y",
      fmt="xls", modes="b"),
    S("财政局", "非税收入缴款信息", "D", "C", "X",
      "payment_no payer_name budget_subject amount paid_on", "非税收入电子缴款信息",
      conditions="仅向执收单位提供其本单位的缴款信息"),
    S("财政局", "行政事业单位国有资产信息", "D", "C", "X",
      "org_name asset_name asset_class book_value registered_on", "行政事业单位国有资产卡片信息",
      cycle="q", conditions="仅向审计、国资监管部门提供"),
    S("财政局", "惠民惠农财政补贴资金发放信息", "T:社会救助", "C", "X",
      "name id_card subsidy_type subsidy_amount paid_on", "惠民惠农财政补贴“一卡通”发放明细",
      cycle="m"),
    # 交通运输局 ------------------------------------------------------------------------
    S("交通运输局", "道路运输经营许可信息", "T:交通出行", "U", "O",
      "permit_no business_name uscc legal_rep_name permit_scope address issued_on valid_until",
      "道路旅客运输、货物运输经营许可信息"),
    S("交通运输局", "营运车辆道路运输证信息", "T:交通出行", "U", "R",
      "transport_cert_no plate_no business_name vehicle_type valid_until",
      "营运车辆道路运输证信息"),
    S("交通运输局", "道路运输从业人员从业资格信息", "D", "C", "R",
      "name id_card qualification_no qualification_class valid_until",
      "驾驶员、押运员等从业资格证信息", modes="qv"),
    S("交通运输局", "网络预约出租汽车经营许可信息", "T:交通出行", "U", "O",
      "permit_no enterprise_name uscc legal_rep_name issued_on valid_until",
      "网约车平台公司经营许可信息"),
    S("交通运输局", "公交线路及站点信息", "T:交通出行", "U", "O",
      "line_name stop_name longitude latitude first_bus last_bus", "市区公交线路、站点和首末班时间",
      cycle="w", modes="qb"),
    S("交通运输局", "公交车辆实时位置信息", "T:交通出行", "U", "O",
      "bus_no line_name longitude latitude speed reported_at", "公交车辆实时定位数据",
      cycle="rt", fmt="stream", modes="qf"),
    S("交通运输局", "交通建设工程项目信息", "D", "U", "O",
      "project_name builder uscc total_investment progress", "在建交通工程项目信息", cycle="m"),
    S("交通运输局", "超限超载运输车辆处罚信息", "D", "U", "R",
      "plate_no business_name overload_rate penalty_content decided_on", "治超非现场执法处罚信息"),
    # 农业农村局 ------------------------------------------------------------------------
    S("农业农村局", "农村土地承包经营权登记信息", "D", "C", "X",
      "contractor_code contractor_rep id_card plot_code contract_area location",
      "农村土地承包经营权确权登记颁证信息", cycle="i"),
    S("农业农村局", "农药经营许可信息", "D", "U", "O",
      "permit_no enterprise_name uscc business_premises issued_on valid_until",
      "农药经营许可证信息"),
    S("农业农村局", "兽药经营许可信息", "D", "U", "O",
      "permit_no enterprise_name uscc business_premises issued_on valid_until",
      "兽药经营许可证信息"),
    S("农业农村局", "家庭农场名录信息", "D", "U", "O",
      "uscc enterprise_name farm_type contract_area address", "纳入名录管理的家庭农场"),
    S("农业农村局", "耕地地力保护补贴发放信息", "T:社会救助", "C", "X",
      "name id_card contract_area subsidy_amount paid_on", "耕地地力保护补贴发放明细", cycle="y"),
    S("农业农村局", "动物检疫证明信息", "D", "U", "R",
      "quarantine_no animal_type quantity origin destination issued_on", "动物检疫合格证明出具信息",
      cycle="rt", modes="qf"),
    S("农业农村局", "农产品质量安全抽检信息", "T:市场监管", "U", "O",
      "product_name enterprise_name sampled_on test_result failed_items",
      "农产品质量安全例行监测结果",
      cycle="m"),
    # 生态环境局 ------------------------------------------------------------------------
    S("生态环境局", "排污许可信息", "T:生态环境", "U", "O",
      "permit_no uscc enterprise_name legal_rep_name industry_code issued_on valid_until",
      "排污许可证核发信息"),
    S("生态环境局", "环境空气质量监测数据", "T:生态环境", "U", "O",
      "station monitored_at pm25 pm10 aqi", "国控、省控空气自动监测站小时数据", cycle="rt",
      fmt="api", modes="qf"),
    S("生态环境局", "重点排污单位自动监测数据", "T:生态环境", "U", "O",
      "uscc enterprise_name outlet pollutant concentration monitored_at",
      "重点排污单位污染物排放在线监测数据", cycle="rt", fmt="api", modes="qf"),
    S("生态环境局", "建设项目环境影响评价审批信息", "T:生态环境", "U", "O",
      "eia_approval_no project_name builder uscc approved_on", "建设项目环评文件审批信息"),
    S("生态环境局", "生态环境行政处罚信息", "T:生态环境", "U", "O",
      "penalty_decision_no counterpart_name uscc violation_type fine_amount decided_on",
      "生态环境违法行为行政处罚信息"),
    S("生态环境局", "危险废物经营许可信息", "T:生态环境", "U", "O",
      "permit_no enterprise_name uscc permit_scope valid_until", "危险废物经营许可证信息"),
    S("生态环境局", "地表水水质监测数据", "T:生态环境", "U", "O",
      "section river_name water_class monitored_on", "国省考断面水质月度监测结果", cycle="m",
      fmt="xls", modes="qb"),
    S("生态环境局", "生态环境信访投诉信息", "T:生态环境", "C", "X",
      "complaint_no complainant phone complaint_content handling_status",
      "生态环境信访投诉受理和办理信息", cycle="rt", modes="qf"),
    # 应急管理局 ------------------------------------------------------------------------
    S("应急管理局", "危险化学品经营许可信息", "T:安全生产", "U", "O",
      "permit_no enterprise_name uscc legal_rep_name permit_scope valid_until",
      "危险化学品经营许可证信息"),
    S("应急管理局", "非煤矿山安全生产许可信息", "T:安全生产", "U", "O",
      "permit_no enterprise_name uscc legal_rep_name issued_on valid_until",
      "非煤矿山企业安全生产许可证信息"),
    S("应急管理局", "安全生产行政处罚信息", "T:安全生产", "U", "O",
      "penalty_decision_no counterpart_name uscc violation_type fine_amount decided_on",
      "安全生产违法行为行政处罚信息"),
    S("应急管理局", "生产安全事故信息", "T:安全生产", "U", "R",
      "occurred_at enterprise_name uscc accident_type deaths direct_loss",
      "生产安全事故调查处理信息",
      cycle="i"),
    S("应急管理局", "危险化学品重大危险源备案信息", "T:安全生产", "C", "X",
      "hazard_source enterprise_name uscc hazard_level location", "危险化学品重大危险源备案信息",
      conditions="仅向负有安全监管、应急救援职责的部门提供"),
    S("应急管理局", "应急救援队伍信息", "D", "C", "X",
      "team_name team_size phone address", "专业和社会应急救援队伍信息",
      conditions="仅向应急联动成员单位提供"),
    S("应急管理局", "自然灾害灾情信息", "T:防汛抗旱", "U", "R",
      "disaster_type occurred_at division_code affected_population direct_loss",
      "自然灾害灾情统计信息", cycle="i"),
    S("应急管理局", "应急避难场所信息", "D", "U", "O",
      "shelter_name address capacity longitude latitude", "应急避难场所位置和容量"),
    # 司法局 ----------------------------------------------------------------------------
    S("司法局", "律师执业信息", "D", "U", "O",
      "name lawyer_licence_no law_firm practice_class", "执业律师的执业证号和执业机构",
      cycle="m"),
    S("司法局", "律师事务所执业许可信息", "D", "U", "O",
      "uscc law_firm legal_rep_name permit_no address", "律师事务所执业许可证信息", cycle="m"),
    S("司法局", "社区矫正对象信息", "D", "C", "X",
      "name id_card correction_type correction_term correction_from", "社区矫正对象的矫正信息",
      conditions="仅向公安、法院、检察院等依法履行相关职责的部门提供"),
    S("司法局", "法律援助案件信息", "D", "C", "X",
      "legal_aid_no applicant applicant_id case_type accepted_on concluded_on",
      "法律援助申请和案件办理信息", cycle="i"),
    S("司法局", "人民调解案件信息", "D", "C", "X",
      "case_id applicant case_type mediation_result concluded_on", "人民调解委员会调解案件信息",
      cycle="i"),
    S("司法局", "公证机构及公证员信息", "D", "U", "O",
      "notary_office notary_name uscc address phone", "公证机构和执业公证员名录", cycle="m"),
    S("司法局", "公证档案信息", "D", "N", "X",
      "notarial_cert_no notarial_matter applicant applicant_id concluded_on",
      "公证事项办理形成的公证档案"),
    S("司法局", "行政复议案件信息", "D", "C", "R",
      "review_case_no applicant respondent review_decision decided_on", "行政复议案件办理结果",
      cycle="i"),
    # 医保局 ----------------------------------------------------------------------------
    S("医保局", "基本医疗保险参保信息", "T:社会保障", "C", "X",
      "name id_card insurance_type insured_status insured_on contribution_base",
      "职工医保和城乡居民医保（社保）参保信息", modes="qvb", tags="社保 医保"),
    S("医保局", "医疗保障定点医药机构信息", "D", "U", "O",
      "designated_code facility_name uscc address phone", "医保定点医疗机构和零售药店名单"),
    S("医保局", "医疗费用结算信息", "D", "C", "X",
      "settlement_no name id_card designated_code total_cost fund_paid concluded_on",
      "参保人员就医结算明细", cycle="rt", modes="qf"),
    S("医保局", "门诊慢特病待遇认定信息", "D", "C", "X",
      "name id_card disease approved_from", "门诊慢性病、特殊疾病待遇认定信息"),
    S("医保局", "医疗救助信息", "T:社会救助", "C", "X",
      "name id_card assistance_type assistance_amount assisted_on", "医疗救助对象和救助金额",
      cycle="m"),
    S("医保局", "医保基金违规处理信息", "D", "U", "O",
      "designated_code facility_name uscc facts outcome decided_on",
      "定点医药机构违规使用医保基金处理结果",
      cycle="m"),
    # 统计局 ----------------------------------------------------------------------------
    S("统计局", "国民经济主要指标数据", "D", "U", "O",
      "indicator indicator_value unit stat_period", "全市国民经济主要统计指标", cycle="m",
      fmt="xls", modes="qb"),
    S("统计局", "统计名录库单位信息", "D", "U", "R",
      "uscc org_name industry_code address", "基本单位名录库信息", cycle="y", modes="qb"),
    S("统计局", "人口抽样调查汇总数据", "D", "U", "O",
      "indicator indicator_value division_code stat_period", "1%人口抽样调查和人口变动调查汇总数据",
      cycle="y", fmt="xls", modes="b", tags="人口"),
    S("统计局", "统计执法检查信息", "D", "U", "O",
      "case_id enterprise_name uscc facts outcome decided_on", "统计执法检查和违法处理结果",
      cycle="i"),
    S("统计局", "统计调查对象原始调查资料", "D", "N", "X",
      "uscc org_name indicator indicator_value stat_period", "统计调查中获得的调查对象原始资料",
      cycle="m"),
    # 水利局 ----------------------------------------------------------------------------
    S("水利局", "取水许可信息", "D", "U", "O",
      "water_permit_no enterprise_name uscc water_source intake_volume valid_until",
      "取水许可证信息"),
    S("水利局", "河道水位流量监测数据", "T:防汛抗旱", "U", "O",
      "station river_name water_level flow monitored_at", "主要河道水文站水位、流量实时数据",
      cycle="rt", fmt="api", modes="qf"),
    S("水利局", "水利工程基本信息", "D", "U", "O",
      "project_name location longitude latitude builder",
      "水库、闸站、堤防等水利工程信息", cycle="y"),
    S("水利局", "河湖长制信息", "T:生态环境", "U", "O",
      "river_name river_chief division_code", "河湖长名单和责任河段", cycle="i"),
    S("水利局", "河道采砂许可信息", "D", "U", "O",
      "permit_no enterprise_name uscc sand_area sand_volume valid_until", "河道采砂许可信息"),
    # 商务局 ----------------------------------------------------------------------------
    S("商务局", "对外贸易经营者备案信息", "D", "U", "O",
      "filing_no enterprise_name uscc legal_rep_name registered_on", "对外贸易经营者备案登记信息"),
    S("商务局", "单用途商业预付卡发卡企业备案信息", "T:市场监管", "U", "O",
      "filing_no enterprise_name uscc registered_on", "单用途商业预付卡发卡企业备案信息"),
    S("商务局", "肉菜流通追溯信息", "T:市场监管", "U", "R",
      "trace_code batch_no product_name enterprise_name monitored_on", "肉类蔬菜流通追溯数据",
      cycle="rt", modes="qf"),
    S("商务局", "再生资源回收经营者备案信息", "D", "U", "O",
      "filing_no enterprise_name uscc business_premises registered_on",
      "再生资源回收经营者备案信息"),
    S("商务局", "外商投资企业信息", "D", "U", "R",
      "uscc enterprise_name foreign_investor investor_country total_investment",
      "外商投资企业设立和变更报告信息", cycle="m"),
    # 文广旅局 --------------------------------------------------------------------------
    S("文广旅局", "A级旅游景区信息", "T:文化旅游", "U", "O",
      "scenic_name scenic_level address phone longitude latitude", "A级旅游景区名录", cycle="i"),
    S("文广旅局", "旅行社业务经营许可信息", "T:文化旅游", "U", "O",
      "agency_licence_no enterprise_name uscc legal_rep_name address", "旅行社业务经营许可信息"),
    S("文广旅局", "导游人员信息", "T:文化旅游", "U", "R",
      "name guide_cert_no guide_level", "持证导游名录", cycle="m"),
    S("文广旅局", "文化市场经营单位许可信息", "D", "U", "O",
      "permit_no venue_name venue_type uscc address valid_until",
      "娱乐场所、互联网上网服务营业场所许可信息"),
    S("文广旅局", "公共文化设施信息", "T:文化旅游", "U", "O",
      "venue_name venue_type address phone longitude latitude",
      "图书馆、文化馆、博物馆等公共文化设施"),
    S("文广旅局", "星级旅游饭店信息", "T:文化旅游", "U", "O",
      "enterprise_name uscc hotel_star address phone", "星级旅游饭店名录", cycle="i"),
    # 退役军人事务局 --------------------------------------------------------------------
    S("退役军人事务局", "退役军人信息", "D", "C", "X",
      "name id_card enlisted_on discharged_on discharge_type placement", "退役军人信息采集登记信息",
      modes="qv"),
    S("退役军人事务局", "优抚对象抚恤补助信息", "T:社会保障", "C", "X",
      "name id_card entitled_type subsidy_amount paid_on",
      "重点优抚对象抚恤补助发放信息", cycle="m"),
    S("退役军人事务局", "烈士纪念设施信息", "D", "U", "O",
      "memorial_name protection_level address longitude latitude", "烈士纪念设施名录", cycle="y"),
    S("退役军人事务局", "退役军人就业创业扶持信息", "D", "C", "X",
      "name id_card org_name employed_on subsidy_amount", "退役军人就业创业扶持政策落实信息",
      cycle="m"),
    # 城管局 ----------------------------------------------------------------------------
    S("城管局", "城市管理案件信息", "T:城市管理", "U", "R",
      "case_id event_type occurred_at address handling_status", "数字城管受理的城市管理问题",
      cycle="rt", modes="qf"),
    S("城管局", "户外广告设置许可信息", "T:城市管理", "U", "O",
      "permit_no enterprise_name uscc location valid_until", "户外广告设施设置许可信息"),
    S("城管局", "城市道路挖掘许可信息", "T:城市管理", "U", "O",
      "permit_no builder uscc dig_location works_period", "占用、挖掘城市道路许可信息"),
    S("城管局", "建筑垃圾运输车辆核准信息", "T:城市管理", "U", "O",
      "permit_no enterprise_name uscc plate_no valid_until", "建筑垃圾（渣土）运输车辆核准信息"),
    S("城管局", "市政设施部件信息", "T:城市管理", "U", "O",
      "component_code component_type location longitude latitude",
      "路灯、井盖等市政设施部件普查信息",
      cycle="y", modes="b"),
    S("城管局", "城市管理行政处罚信息", "T:城市管理", "U", "O",
      "penalty_decision_no counterpart_name violation_type fine_amount decided_on",
      "城市管理领域行政处罚信息"),
    # 行政审批局 ------------------------------------------------------------------------
    S("行政审批局", "行政许可受理信息", "T:政务服务", "C", "X",
      "work_no item_name applicant applicant_id accepted_on concluded_on conclusion",
      "行政审批局受理和办结的行政许可申请", cycle="rt", modes="qf"),
    S("行政审批局", "企业开办一件事办理信息", "T:政务服务", "C", "X",
      "work_no uscc enterprise_name legal_rep_name accepted_on concluded_on",
      "企业开办（登记、刻章、发票、社保登记）一件事联办信息", cycle="rt", modes="qf"),
    S("行政审批局", "投资项目审批中介服务信息", "D", "U", "O",
      "institution_name uscc qualification phone", "网上中介服务超市入驻中介机构信息", cycle="m"),
    # 信用办 ----------------------------------------------------------------------------
    S("信用办", "信用承诺信息", "T:信用体系", "U", "O",
      "uscc enterprise_name commitment committed_on", "市场主体作出的信用承诺及履约情况"),
    # 县级部门 --------------------------------------------------------------------------
    S("沭阳公安局", "沭阳县居住证办理信息", "D", "C", "X",
      "name id_card residence_permit_no residence_address issued_on",
      "沭阳县流动人口居住证办理信息（县级目录）"),
    S("沭阳人社局", "沭阳县城乡居民养老保险参保信息", "T:社会保障", "C", "X",
      "name id_card insurance_type insured_status insured_on",
      "沭阳县城乡居民基本养老保险（社保）参保信息（县级目录）", tags="社保"),
    S("沭阳数据局", "沭阳县政务服务事项办件信息", "T:政务服务", "C", "X",
      "work_no item_name applicant applicant_id accepted_on concluded_on",
      "沭阳县政务服务中心受理和办结记录（县级目录）", cycle="rt", modes="qf"),
    S("泗阳公安局", "泗阳县居住证办理信息", "D", "C", "X",
      "name id_card residence_permit_no residence_address issued_on",
      "泗阳县流动人口居住证办理信息（县级目录）"),
    S("泗阳人社局", "泗阳县城乡居民养老保险参保信息", "T:社会保障", "C", "X",
      "name id_card insurance_type insured_status insured_on",
      "泗阳县城乡居民基本养老保险（社保）参保信息（县级目录）", tags="社保"),
    S("泗阳数据局", "泗阳县政务服务事项办件信息", "T:政务服务", "C", "X",
      "work_no item_name applicant applicant_id accepted_on concluded_on",
      "泗阳县政务服务中心受理和办结记录（县级目录）", cycle="rt", modes="qf"),
]
# fmt: on

# 不予共享: the basis (SQ-10.1: law, administrative regulation or policy of the Party
# Central Committee, the State Council, the provincial committee or government) and reasons.
NOT_SHARED: dict[str, tuple[str, str, str, str]] = {
    "居民身份证指纹信息": (
        "law",
        "公安机关及其人民警察对因制作、发放、查验、扣押居民身份证而知悉的公民的个人信息，"
        "应当予以保密。",
        "《中华人民共和国居民身份证法》（2011年修正）第六条",
        "指纹属于生物识别信息，仅用于居民身份证制发和查验，法律要求保密，不宜向其他部门提供",
    ),
    "未成年人犯罪记录信息": (
        "law",
        "犯罪的时候不满十八周岁，被判处五年有期徒刑以下刑罚的，应当对相关犯罪记录予以封存。"
        "犯罪记录被封存的，不得向任何单位和个人提供，但司法机关为办案需要或者有关单位根据"
        "国家规定进行查询的除外。",
        "《中华人民共和国刑事诉讼法》（2018年修正）第二百八十六条",
        "封存的犯罪记录依法不得向任何单位提供，司法机关依法查询的通过专门渠道办理",
    ),
    "纳税人涉税保密信息": (
        "law",
        "纳税人、扣缴义务人有权要求税务机关为纳税人、扣缴义务人的情况保密。"
        "税务机关应当依法为纳税人、扣缴义务人的情况保密。",
        "《中华人民共和国税收征收管理法》（2015年修正）第八条",
        "涉及纳税人商业秘密和个人隐私，依法保密；可共享的汇总数据已另行编目",
    ),
    "统计调查对象原始调查资料": (
        "law",
        "统计调查中获得的能够识别或者推断单个统计调查对象身份的资料，任何单位和个人不得"
        "对外提供、泄露，不得用于统计以外的目的。",
        "《中华人民共和国统计法》（2009年修订）第二十五条",
        "原始调查资料能够识别单个调查对象，法律禁止对外提供；汇总数据已另行编目共享",
    ),
    "传染病患者个人诊疗信息": (
        "law",
        "疾病预防控制机构、医疗机构不得泄露涉及个人隐私的有关信息、资料。",
        "《中华人民共和国传染病防治法》（2013年修正）第十二条",
        "涉及患者个人隐私，法律禁止泄露；疫情统计数据按规定另行发布",
    ),
    "精神障碍患者诊疗信息": (
        "law",
        "有关单位和个人应当对精神障碍患者的姓名、肖像、住址、工作单位、病历资料以及其他"
        "可能推断出其身份的信息予以保密；但是，依法履行职责需要公开的除外。",
        "《中华人民共和国精神卫生法》（2018年修正）第四条",
        "涉及患者身份和病历资料，法律要求保密，不宜向其他部门提供",
    ),
    "艾滋病病毒感染者随访管理信息": (
        "administrative_regulation",
        "未经本人或者其监护人同意，任何单位或者个人不得公开艾滋病病毒感染者、艾滋病病人"
        "及其家属的姓名、住址、工作单位、肖像、病史资料以及其他可能推断出其具体身份的信息。",
        "《艾滋病防治条例》（国务院令第457号，2019年修订）第三十九条",
        "行政法规禁止公开可推断感染者身份的信息，不宜向其他部门提供",
    ),
    "收养登记信息": (
        "law",
        "收养人、送养人要求保守收养秘密的，其他人应当尊重其意愿，不得泄露。",
        "《中华人民共和国民法典》第一千一百一十条",
        "收养秘密受法律保护，收养登记档案不宜向其他部门提供",
    ),
    "公证档案信息": (
        "law",
        "公证员不得泄露在执业活动中知悉的国家秘密、商业秘密或者个人隐私。",
        "《中华人民共和国公证法》（2017年修正）第二十三条",
        "公证档案涉及当事人商业秘密和个人隐私，依法保密，按公证档案管理规定查阅",
    ),
}
